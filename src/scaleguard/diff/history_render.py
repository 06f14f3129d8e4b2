"""A framework's history as JSON (format ``scaleguard.history/1``) and as Markdown.

Both depend only on the :class:`FrameworkHistory`, whose lists are already
ordered, so the same library gives the same bytes on every run.
"""

from __future__ import annotations

from typing import Any

from scaleguard.diff.history import STEP_COUNTS, FrameworkHistory, HistoryStep, VersionInfo
from scaleguard.diff.model import Change
from scaleguard.diff.render_markdown import esc
from scaleguard.diff.text import element_label

FORMAT = "scaleguard.history/1"

#: Column headings for the step counts, shared by Markdown and HTML.
COUNT_LABELS: dict[str, str] = {
    "weakening": "Weakening",
    "unclear": "Unclear",
    "strengthening": "Strengthening",
    "neutral": "Neutral",
    "unannounced": "Unannounced",
}
UNANNOUNCED_NOTE = (
    "Unannounced: no changelog entry of the newer version (or of a version between) names the "
    "changed element. Unclear changes need a person to read both texts."
)


def history_json(h: FrameworkHistory) -> dict[str, Any]:
    """The history as plain JSON-ready data."""
    return {
        "format": FORMAT,
        "framework": {"id": h.framework_id, "title": h.title, "developer": h.developer},
        "versions": [_version(v) for v in h.versions],
        "steps": [_step(s) for s in h.steps],
        "totals": {k: h.totals[k] for k in STEP_COUNTS},
    }


def _version(v: VersionInfo) -> dict[str, Any]:
    return {
        "version": v.version,
        "ref": v.ref,
        "title": v.title,
        "effective_date": v.effective_date,
        "supersedes": v.supersedes,
        "digest": f"sha256:{v.digest}",
        "primary_text": (
            {"sha256": v.primary_text_sha256, "retrieved_from": v.primary_text_url}
            if v.primary_text_sha256
            else None
        ),
    }


def finding_json(c: Change) -> dict[str, Any]:
    return {
        "family": c.family,
        "id": c.id,
        "old_id": c.old_id,
        "new_id": c.new_id,
        "name": c.name,
        "change": c.change,
        "classification": c.classification,
        "reason": c.reason,
        "rule": c.rule,
        "unannounced": c.unannounced,
    }


def _step(s: HistoryStep) -> dict[str, Any]:
    return {
        "from": s.old.version,
        "to": s.new.version,
        "from_ref": s.old.ref,
        "to_ref": s.new.ref,
        "from_date": s.old.effective_date,
        "to_date": s.new.effective_date,
        "counts": {k: s.counts[k] for k in STEP_COUNTS},
        "total": s.total,
        "top": [finding_json(c) for c in s.top],
    }


def headline(h: FrameworkHistory) -> str:
    """One sentence: how many versions, over what period, and what the steps added up to."""
    n = len(h.versions)
    first, last = h.versions[0], h.versions[-1]
    span = (
        f"effective {first.effective_date}"
        if n == 1
        else f"from {first.effective_date} to {last.effective_date}"
    )
    lead = f"{n} version{'s' if n != 1 else ''} of {h.framework_id} in the library, {span}."
    if not h.steps:
        return f"{lead} Nothing to compare."
    t = h.totals
    parts = ", ".join(f"{t[k]} {k}" for k in STEP_COUNTS if k != "neutral")
    steps = len(h.steps)
    return f"{lead} Over {steps} step{'s' if steps != 1 else ''}: {parts}."


def finding_body(c: Change) -> str:
    """What happened to which element, and why: ``threshold `x` removed: reason``."""
    return f"{element_label(c)} {c.change}: {c.reason}"


def finding_text(c: Change) -> str:
    """One line for a finding: classification (and whether unannounced), then its body."""
    flag = " (unannounced)" if c.unannounced else ""
    return f"{COUNT_LABELS[c.classification]}{flag}: {finding_body(c)}"


def history_markdown(h: FrameworkHistory) -> str:
    """The history as a Markdown report ending in a newline."""
    out = [
        f"# History of {esc(h.title)} (`{h.framework_id}`)",
        "",
        f"{esc(h.developer)}. {esc(headline(h))}",
        "",
        "## Versions",
        "",
        "| Version | Effective | Supersedes | Document SHA-256 | Primary text SHA-256 |",
        "|---|---|---|---|---|",
    ]
    for v in h.versions:
        primary = f"`{v.primary_text_sha256}`" if v.primary_text_sha256 else "—"
        out.append(
            f"| {esc(v.version)} | {v.effective_date} | {esc(v.supersedes or '—')} | "
            f"`{v.digest}` | {primary} |"
        )
    if h.steps:
        out += ["", "## Steps", ""]
        heads = " | ".join(COUNT_LABELS[k] for k in STEP_COUNTS)
        out.append(f"| Step | Effective | {heads} | Total |")
        out.append("|---|---|" + "---:|" * (len(STEP_COUNTS) + 1))
        for s in h.steps:
            counts = " | ".join(str(s.counts[k]) for k in STEP_COUNTS)
            out.append(
                f"| {esc(s.label)} | {s.old.effective_date} → {s.new.effective_date} | "
                f"{counts} | {s.total} |"
            )
        totals = " | ".join(str(h.totals[k]) for k in STEP_COUNTS)
        out.append(f"| **All steps** | | {totals} | {sum(s.total for s in h.steps)} |")
        out += ["", esc(UNANNOUNCED_NOTE)]
    for s in h.steps:
        out += ["", f"## {esc(s.label)} ({s.old.effective_date} → {s.new.effective_date})", ""]
        out.append(
            ", ".join(f"{s.counts[k]} {k}" for k in STEP_COUNTS)
            + f"; {s.total} change{'s' if s.total != 1 else ''} in all."
        )
        if s.top:
            out += ["", "Most important findings:", ""]
            out += [f"{i}. {esc(finding_text(c))}" for i, c in enumerate(s.top, 1)]
        else:
            out += ["", "No weakening, unclear or strengthening findings."]
        out += [
            "",
            f"Full diff: `scaleguard frameworks diff {s.old.ref} {s.new.ref}`",
        ]
    return "\n".join(out) + "\n"
