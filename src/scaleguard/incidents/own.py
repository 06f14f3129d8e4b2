"""The developer's own governance duties, derived from its framework document.

A framework's cadences and noncompliance commitments become a regime with
recurring duties (no incident clocks: the frameworks set none), each citing
the framework's own source. Derived, not hand-copied: a new framework
version gives a new regime.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from scaleguard.incidents.regimes import Regime, RegimeDocument
from scaleguard.incidents.span import Span

if TYPE_CHECKING:
    from scaleguard.framework.loader import LoadedFramework
    from scaleguard.workspace.workspace import Workspace

#: Framework cadence artifact -> the duty check it feeds.
CHECK_OF_ARTIFACT = {
    "noncompliance_board_update": "board_quarterly",
    "framework_review": "framework_review",
    "framework_update": "framework_review",
    "procedural_review": "manual",
}


def framework_regime(fw: LoadedFramework) -> Regime:
    meta = fw.doc.framework
    sources: list[dict[str, Any]] = [
        {
            "id": s.id,
            "title": s.title,
            "url": s.url,
            "verified": s.kind == "primary",
            "note": "a source of the framework document, which cites it element by element",
        }
        for s in meta.sources
    ]
    extra: dict[str, str] = {}

    def ref(source: Any) -> dict[str, Any]:
        if source.doc is not None:
            return {"doc": source.doc, "section": source.section}
        url = str(source.url)
        if url not in extra:
            extra[url] = f"url-{len(extra) + 1}"
            sources.append({"id": extra[url], "title": url, "url": url, "verified": False})
        return {"doc": extra[url], "section": source.section}

    recurring: list[dict[str, Any]] = []
    for cadence in fw.doc.cadences:
        check = CHECK_OF_ARTIFACT.get(cadence.artifact)
        if check is None:
            continue
        duty: dict[str, Any] = {
            "id": cadence.id,
            "name": cadence.name,
            "check": check,
            "source": ref(cadence.source),
        }
        if cadence.interval is not None:
            duty["every"] = Span.parse(str(cadence.interval))
        elif check != "manual":
            duty["check"] = "manual"
        recurring.append(duty)
    for c in fw.doc.commitments:
        if c.kind == "noncompliance":
            recurring.append(
                {"id": c.id, "name": c.name, "check": "manual", "source": ref(c.source)}
            )
    cited = {d["source"]["doc"] for d in recurring}
    verified = bool(cited) and all(s["verified"] for s in sources if s["id"] in cited)
    doc = RegimeDocument.model_validate(
        {
            "schema_version": 1,
            "regime": {
                "id": f"{meta.id}-own",
                "title": f"{meta.developer} {meta.title} {meta.version}: own governance duties",
                "jurisdiction": f"{meta.developer} (own policy)",
                "in_force_from": meta.effective_date,
                "status": "own_policy",
                "verified": verified,
                "verification": f"derived from the framework document {fw.ref} "
                "(its cadences and noncompliance commitments, with their sources)",
                "sources": sources,
            },
            "recurring": recurring,
        }
    )
    return Regime(doc=doc, origin=f"derived:{fw.ref}")


def workspace_regimes(ws: Workspace) -> list[Regime]:
    """Built-in and workspace regimes, plus the default framework's own duties when there is one."""
    from scaleguard.errors import ScaleguardError
    from scaleguard.incidents.regimes import load_regimes
    from scaleguard.workspace.pinned import applied_framework

    regimes = load_regimes(ws.root)
    default = ws.config.frameworks.default
    if default is not None:
        fw = None
        # a default that does not load is reported by the commands that use it
        with contextlib.suppress(ScaleguardError):
            fw = ws.library().get(default)
        if fw is not None:
            # never suppressed: duties taken from rules changed in place would be wrong
            regimes.append(framework_regime(applied_framework(ws, fw)))
    return regimes
