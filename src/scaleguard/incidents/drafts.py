"""Report drafts per regime: the regime's required fields filled from the incident record.

A field the record cannot fill is shown as MISSING with what to record,
never left out or invented. The same record gives the same bytes (Markdown,
canonical JSON, and PDF through WeasyPrint with dates taken from the record).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scaleguard.incidents.clocks import Obligation, iso, obligations
from scaleguard.incidents.regimes import Regime
from scaleguard.incidents.service import IncidentView

MISSING = "MISSING"


@dataclass(frozen=True)
class DraftField:
    id: str
    label: str
    value: str
    missing: bool


@dataclass(frozen=True)
class Draft:
    regime: Regime
    incident_id: int
    title: str
    developer: str
    duties: tuple[Obligation, ...]
    fields: tuple[DraftField, ...]
    prepared: str

    def as_json(self) -> dict[str, Any]:
        meta = self.regime.doc.regime
        return {
            "draft": True,
            "regime": {"id": meta.id, "title": meta.title, "verified": meta.verified},
            "incident": self.incident_id,
            "title": self.title,
            "developer": self.developer,
            "prepared_from_records_up_to": self.prepared,
            "duties": [
                {
                    "duty": o.group,
                    "name": o.name,
                    "recipient": o.recipient,
                    "deadline": iso(o.deadline) if o.deadline else None,
                    "status": o.status,
                    "source": f"{o.source_url} {o.section}",
                }
                for o in self.duties
            ],
            "fields": [
                {"id": f.id, "label": f.label, "value": f.value, "missing": f.missing}
                for f in self.fields
            ],
        }


def _value(kind: str, v: IncidentView, regime: Regime, developer: str) -> tuple[str, str]:
    """(value, what to record when missing)."""
    inc, facts = v.incident, v.facts
    if kind == "developer":
        return developer, "the developer's name"
    if kind == "title":
        return inc.title, "--title"
    if kind == "description":
        return inc.description or "", "--description when opening the incident"
    if kind == "discovered_at":
        return iso(facts.discovered_at), "--discovered"
    if kind == "determined_at":
        return (iso(facts.determined_at) if facts.determined_at else ""), "update --determined"
    if kind == "resolved_at":
        return (iso(facts.resolved_at) if facts.resolved_at else ""), "incidents resolve"
    if kind == "kinds":
        return ", ".join(inc.kinds), "--kind"
    if kind == "classes":
        classes = regime.classes_for(inc.kinds)
        text = "; ".join(f"{c.name} ({c.source.section})" for c in classes)
        return text, "a --kind that this regime's incident classes cover"
    if kind == "models":
        return ", ".join(inc.models), "--models"
    if kind == "internal_use":
        return ("yes" if inc.internal_use else "no"), ""
    if kind == "imminent_risk":
        return ("yes" if inc.imminent_risk else "no"), ""
    if kind == "status":
        notes = [e.note for e in v.events if e.note]
        return "; ".join([v.status, *notes]), "update --note"
    if kind == "notes":
        return "; ".join(e.note for e in v.events if e.note), "update --note"
    if kind == "previous_reports":
        subs = [s for s in facts.submissions if s.regime == regime.id]
        text = "; ".join(
            f"report {s.id} ({s.group}) sent {iso(s.at)}, sha256 {s.sha256}" for s in subs
        )
        return text or "none", ""
    raise ValueError(kind)  # pragma: no cover - the regime schema allows only the kinds above


def make_draft(v: IncidentView, regime: Regime, *, developer: str, as_of: datetime) -> Draft:
    duties = tuple(o for o in obligations(v.facts, [regime], as_of) if o.status != "not_applicable")
    wanted = {f for o in duties for f in o.fields}
    fields = []
    for spec in regime.doc.report_fields:
        if spec.id not in wanted:
            continue
        value, how = _value(spec.value, v, regime, developer)
        missing = not value
        shown = value if value else f"{MISSING}: record {how}"
        fields.append(DraftField(spec.id, spec.label, shown, missing))
    times = [v.incident.created_at, *(e.created_at for e in v.events)]
    return Draft(
        regime, v.incident.id, v.incident.title, developer, duties, tuple(fields), max(times)
    )


def to_json(draft: Draft) -> bytes:
    return (
        json.dumps(draft.as_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode()


def to_markdown(draft: Draft) -> str:
    meta = draft.regime.doc.regime
    lines = [
        f"# DRAFT: {meta.title} report",
        "",
        f"Incident {draft.incident_id}: {draft.title}. Developer: {draft.developer}. "
        f"Prepared from records up to {draft.prepared}.",
        "",
    ]
    if not meta.verified:
        lines += [f"> Regime not verified against an official text: {meta.verification}", ""]
    if not draft.duties:
        lines += ["This incident does not fall under this regime.", ""]
    lines += [
        "## Duties",
        "",
        "| duty | recipient | deadline (UTC) | status | source |",
        "|---|---|---|---|---|",
    ]
    for o in draft.duties:
        deadline = iso(o.deadline) if o.deadline else "-"
        lines.append(
            f"| {o.name} | {o.recipient} | {deadline} | {o.status} | {o.section} ({o.source_url}) |"
        )
    lines += ["", "## Required fields", ""]
    for f in draft.fields:
        lines += [f"**{f.label}**", "", f.value, ""]
    missing = [f.label for f in draft.fields if f.missing]
    if missing:
        lines += [f"_{len(missing)} field(s) missing: {', '.join(missing)}._", ""]
    return "\n".join(lines)


def to_html(draft: Draft) -> str:
    meta = draft.regime.doc.regime
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(o.name)}</td><td>{e(o.recipient)}</td>"
        f"<td>{e(iso(o.deadline)) if o.deadline else '-'}</td><td>{e(o.status)}</td>"
        f"<td>{e(o.section)}</td></tr>"
        for o in draft.duties
    )
    fields = "".join(
        f"<h3>{e(f.label)}</h3><p{' class=missing' if f.missing else ''}>{e(f.value)}</p>"
        for f in draft.fields
    )
    warning = "" if meta.verified else f"<p class=warn>{e(meta.verification)}</p>"
    day = draft.prepared[:10]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>DRAFT {e(meta.title)}</title>"
        f'<meta name="dcterms.created" content="{day}">'
        f'<meta name="dcterms.modified" content="{day}">'
        "<style>body{font-family:'DejaVu Sans',sans-serif;font-size:10pt}"
        "table{border-collapse:collapse}td,th{border:1px solid #888;padding:3px}"
        ".missing{color:#a00;font-weight:bold}.warn{border:1px solid #a60;padding:4px}</style>"
        f"</head><body><h1>DRAFT: {e(meta.title)} report</h1>"
        f"<p>Incident {draft.incident_id}: {e(draft.title)}. Developer: {e(draft.developer)}. "
        f"Prepared from records up to {e(draft.prepared)}.</p>{warning}"
        "<h2>Duties</h2><table><tr><th>duty</th><th>recipient</th><th>deadline (UTC)</th>"
        f"<th>status</th><th>source</th></tr>{rows}</table><h2>Required fields</h2>{fields}"
        "</body></html>"
    )


def to_pdf(draft: Draft) -> bytes:
    from scaleguard.reports.pdf import html_to_pdf

    return html_to_pdf(to_html(draft))


def render(draft: Draft, fmt: str) -> bytes:
    if fmt == "json":
        return to_json(draft)
    if fmt == "markdown":
        return to_markdown(draft).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(draft)
    from scaleguard.errors import InputError

    raise InputError(f"unknown format {fmt!r}", hint="use markdown, pdf or json")
