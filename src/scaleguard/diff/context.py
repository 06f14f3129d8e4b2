"""What a rule may need to know beyond the two elements it compares."""

from __future__ import annotations

from dataclasses import dataclass

from scaleguard.diff.rules import FORCE_RANK
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import FrameworkDocument


@dataclass(frozen=True)
class DiffContext:
    """Both documents and the threshold pairing (so ids in triggers translate across)."""

    a: LoadedFramework
    b: LoadedFramework
    #: threshold id in A -> paired id in B, and the reverse.
    thresholds_a_to_b: dict[str, str]
    thresholds_b_to_a: dict[str, str]

    def swapped(self) -> DiffContext:
        return DiffContext(self.b, self.a, self.thresholds_b_to_a, self.thresholds_a_to_b)


def strongest_requirement(doc: FrameworkDocument, standard: str) -> str | None:
    """The strongest force at which any threshold of ``doc`` requires ``standard``."""
    forces = [
        req.force
        for t in doc.thresholds
        for req in t.required_safeguards
        if req.standard == standard
    ]
    return max(forces, key=lambda f: FORCE_RANK[f]) if forces else None
