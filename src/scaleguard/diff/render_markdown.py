"""A Markdown report of a diff that a watchdog or a policy team can publish as is.

Sections follow the summary order (weakening, unclear, strengthening,
neutral), coverage comes next, and the report ends with the summary: counts
and the most important changes.
"""

from __future__ import annotations

import re

from scaleguard.diff.model import CHANGE_KINDS, CLASSIFICATIONS, Change, FrameworkDiff
from scaleguard.diff.text import TITLES, brief, element_label, kind_label

_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def render_markdown(d: FrameworkDiff) -> str:
    """The whole report as one string ending in a newline."""
    lines: list[str] = [
        f"# Framework diff: {esc(d.a.ref)} → {esc(d.b.ref)}",
        "",
        esc(d.headline),
        "",
    ]
    lines += _header(d)
    if d.cross_framework:
        lines += [
            "> **Cross-framework comparison.** A and B are different frameworks, so a "
            '"weakening" means B commits to less than A on that point, not that a '
            "developer changed its policy. The coverage section shows which risks each "
            "covers.",
            "",
        ]
    if d.is_empty:
        lines += ["The two documents state the same commitments. Nothing to report.", ""]
    for cls in CLASSIFICATIONS:
        group = [c for c in d.changes if c.classification == cls]
        if not group:
            continue
        lines += [f"## {TITLES[cls]} ({len(group)})", ""]
        for change in group:
            lines += _change(change, d.cross_framework)
        lines.append("")
    lines += _coverage(d)
    lines += _summary(d)
    return "\n".join(lines).rstrip("\n") + "\n"


def esc(text: str) -> str:
    """Escape Markdown syntax in free text (ids keep their inner underscores)."""
    text = _SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return _LONE_UNDERSCORE.sub(r"\\_", text)


def code(value: object) -> str:
    text = brief(value)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _header(d: FrameworkDiff) -> list[str]:
    a_label, b_label = ("A", "B") if d.cross_framework else ("A (old)", "B (new)")
    rows = [
        ("Framework", d.a.title, d.b.title),
        ("Developer", d.a.developer, d.b.developer),
        ("Reference", d.a.ref, d.b.ref),
        ("Effective", d.a.effective_date, d.b.effective_date),
    ]
    out = [f"| | {a_label} | {b_label} |", "|---|---|---|"]
    out += [f"| {k} | {esc(x)} | {esc(y)} |" for k, x, y in rows]
    out += [f"| SHA-256 | `{d.a.digest}` | `{d.b.digest}` |", ""]
    return out


def _change(c: Change, cross_framework: bool) -> list[str]:
    kind = kind_label(c, cross_framework)
    silent = " **(unannounced)**" if c.unannounced else ""
    head = f"- **{element_label(c, '`')}** {esc(c.name)} — {kind}{silent}: {esc(c.reason)}"
    out = [head]
    for f in c.fields:
        if f.path == "":
            continue
        out.append(f"  - {code(f.path)}: {code(f.old)} → {code(f.new)}")
    return out


def _coverage(d: FrameworkDiff) -> list[str]:
    cov = d.coverage
    if not cov.domains:
        return []
    out = [
        "## Coverage",
        "",
        "| Risk domain | A | B | Thresholds in A | Thresholds in B |",
        "|---|---|---|---|---|",
    ]
    for r in cov.domains:
        out.append(
            f"| `{r.id}` {esc(r.name)} | {r.status_a or '—'} | {r.status_b or '—'} | "
            f"{_ids(r.thresholds_a)} | {_ids(r.thresholds_b)} |"
        )
    out.append("")
    for label, ids in (
        ("Risk domains covered only by A", cov.domains_only_a),
        ("Risk domains covered only by B", cov.domains_only_b),
        ("Thresholds only in A", cov.thresholds_only_a),
        ("Thresholds only in B", cov.thresholds_only_b),
    ):
        out.append(f"- {label}: {_ids(ids)}")
    out.append("")
    return out


def _ids(ids: tuple[str, ...]) -> str:
    return ", ".join(f"`{i}`" for i in ids) if ids else "—"


def _summary(d: FrameworkDiff) -> list[str]:
    counts = d.counts
    kinds = d.change_counts
    out = ["## Summary", "", esc(d.headline), "", "| Classification | Changes |", "|---|---|"]
    out += [f"| {c} | {counts[c]} |" for c in CLASSIFICATIONS]
    out += [f"| **total** | {len(d.changes)} |", ""]
    out.append(", ".join(f"{kinds[k]} {k}" for k in CHANGE_KINDS) + ".")
    out.append("")
    if d.unannounced:
        by_cls = d.unannounced_counts
        parts = ", ".join(f"{by_cls[c]} {c}" for c in CLASSIFICATIONS if by_cls[c])
        out += [
            f"**Unannounced:** {d.unannounced} of the changes ({parts}) concern elements that "
            f"no changelog entry of {esc(d.b.ref)} names.",
            "",
        ]
    top = d.most_important()
    if top:
        out += ["### Most important changes", ""]
        for i, c in enumerate(top, 1):
            silent = " (unannounced)" if c.unannounced else ""
            out.append(
                f"{i}. **{c.classification}**{silent} — {element_label(c, '`')}: {esc(c.reason)}"
            )
        out.append("")
    out.append(
        "Order: weakenings of binding gates and removed thresholds or risk domains first, "
        "then other weakenings, changes to review by hand, strengthenings, and neutral "
        "changes last."
    )
    return out
