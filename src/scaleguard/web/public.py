"""What the public site and its JSON show: shaped from the library, decided nowhere else.

These functions call the same library functions as the CLI and return plain
JSON-ready data; API routes return it, page routes render it. Ledger entries
of kinds that may hold confidential content (a Risk Report's unredacted text,
unreleased model names, evidence) show only their index, kind, time and leaf
hash to the public: enough to verify them, nothing to read.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from typing import Any, ClassVar

from scaleguard.errors import InputError, NotFoundError, Problem, ScaleguardError
from scaleguard.ledger.note import b64encode
from scaleguard.ledger.recheck import read_entry
from scaleguard.store import repo
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.workspace.workspace import Workspace

#: Entry kinds whose bytes and subject the public may read.
PUBLIC_KINDS = frozenset(
    {
        "framework",
        "roadmap-goal",
        "roadmap-update",
        "report-publication",
        "review-statement",
        "review-response",
    }
)
MAX_PAGE = 200


class IntegrityError(ScaleguardError):
    """A published file no longer matches the hash recorded in the ledger."""

    http_status: ClassVar[int] = 500


# -- pagination ---------------------------------------------------------------------


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not text.startswith("p") or not text[1:].isdigit() or len(text) > 20:
            raise ValueError
        if int(text[1:]) > 2**62:
            raise ValueError
        return int(text[1:])
    except ValueError:
        raise InputError(
            "invalid cursor",
            hint="pass the next_cursor value of the previous page unchanged",
            problems=[Problem("not a cursor this API issued", path="cursor")],
        ) from None


def page(items: list[Any], cursor: str | None, limit: int) -> dict[str, Any]:
    start = decode_cursor(cursor)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return {"items": chunk, "next_cursor": encode_cursor(start + limit) if more else None}


# -- frameworks and diffs -----------------------------------------------------------


#: What the public API shows of each framework's listing (``Library.summaries``).
_LISTED = ("ref", "id", "version", "developer", "title", "effective_date", "builtin", "digest")
_COUNTED = ("thresholds", "safeguard_standards", "commitments")


def framework_summaries(ws: Workspace) -> list[dict[str, Any]]:
    """The library's listing (built-ins from the shipped index), in the API's shape."""
    return [
        {**{k: s[k] for k in _LISTED}, "counts": {k: s["counts"][k] for k in _COUNTED}}
        for s in ws.library().summaries()
    ]


def framework_listing(ws: Workspace) -> list[dict[str, Any]]:
    """:func:`framework_summaries`, each with ``changed_in_place``: the workspace's own
    document is not the one first used under its version (see :func:`framework`)."""
    from scaleguard.workspace.pinned import first_digests

    first = first_digests(ws)
    return [
        {
            **s,
            "changed_in_place": not s["builtin"]
            and first.get(s["ref"], s["digest"]) != s["digest"],
        }
        for s in framework_summaries(ws)
    ]


def framework(ws: Workspace, ref: str) -> dict[str, Any]:
    from scaleguard.workspace.pinned import framework_standing

    fw = ws.library().get_ref(ref)  # a name from the request: never a file path
    data: dict[str, Any] = fw.doc.model_dump(mode="json", exclude_none=True)
    data["ref"] = fw.ref
    data["digest"] = fw.digest
    standing = framework_standing(ws, fw)
    data["recorded"] = {
        "first_digest": standing.first_digest,
        "first_used": standing.first_used,
        "digests": list(standing.recorded),
        "changed_in_place": standing.changed_in_place,
        "earlier_encodings": list(standing.earlier_encodings),
    }
    return data


def diff(ws: Workspace, old: str, new: str) -> dict[str, Any]:
    from scaleguard.diff.engine import diff_frameworks
    from scaleguard.diff.render_json import render_json

    lib = ws.library()  # names from the request: never file paths
    return render_json(diff_frameworks(lib.get_ref(old), lib.get_ref(new)))


# -- roadmap ------------------------------------------------------------------------


def roadmap(ws: Workspace, as_of: date | None = None) -> Any:
    from scaleguard.reports.service import today
    from scaleguard.roadmap import load_roadmap, report_card

    return report_card(load_roadmap(ws, refusing="show the roadmap"), as_of or today())


def roadmap_title(ws: Workspace) -> str:
    return f"{ws.name}: Frontier Safety Roadmap"


# -- published reports and their review -----------------------------------------------


def _publication(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "report_id": p.report_id,
        "edition": p.edition,
        "format": p.format,
        "sha256": p.sha256,
        "size": p.size,
        "edition_sha256": p.edition_sha256,
        "published_at": p.created_at,
        "ledger_index": p.ledger_index,
        "download": f"/reports/{p.report_id}/public.{p.format}",
    }


def published_reports(ws: Workspace) -> list[dict[str, Any]]:
    """Every report with a public edition, newest first, with its files and hashes."""
    from scaleguard.reports.service import published

    return [
        {
            "id": report.id,
            "period": report.period,
            "coverage_date": report.coverage_date.isoformat(),
            "framework_ref": report.framework_ref,
            "editions": [_publication(p) for p in pubs],
        }
        for report, pubs in published(ws)
    ]


def published_report(ws: Workspace, report_id: int) -> dict[str, Any]:
    for item in published_reports(ws):
        if item["id"] == report_id:
            item["review"] = review_outcome(ws, report_id)
            return item
    raise NotFoundError(
        f"report #{report_id} has no public edition", hint="see /api/v1/reports for those that do"
    )


def public_file(ws: Workspace, report_id: int, fmt: str) -> tuple[bytes, str]:
    """The newest public edition file in ``fmt``, checked against its recorded SHA-256."""
    from scaleguard.reports.service import public_editions

    if fmt not in ("html", "pdf"):
        raise NotFoundError(f"no public edition format {fmt!r}", hint="use html or pdf")
    pubs = [p for p in public_editions(ws, report_id) if p.format == fmt and p.path]
    if not pubs:
        raise NotFoundError(f"report #{report_id} has no public {fmt} edition")
    pub = pubs[-1]
    assert pub.path is not None
    root = ws.root.resolve()
    path = (root / pub.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise IntegrityError(
            f"the public {fmt} edition of report #{report_id} is missing from the workspace",
            hint="publish it again with 'scaleguard report publish'",
        )
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != pub.sha256:
        raise IntegrityError(
            f"the public {fmt} edition of report #{report_id} does not match the SHA-256 "
            "recorded in the ledger; it is not served",
            hint="restore the published file, or publish the edition again",
        )
    return data, pub.sha256


def review_outcome(ws: Workspace, report_id: int) -> list[dict[str, Any]]:
    """Each external reviewer's final statement and the developer's response."""
    from scaleguard.review.listings import outcome

    out = []
    for st, resp in outcome(ws, report_id):
        out.append(
            {
                "reviewer": st.reviewer,
                "verdict": st.verdict,
                "statement": st.text,
                "submitted_at": st.created_at,
                "ledger_index": st.ledger_index,
                "response": None
                if resp is None
                else {
                    "text": resp.text,
                    "responded_at": resp.created_at,
                    "ledger_index": resp.ledger_index,
                },
            }
        )
    return out


# -- the ledger ---------------------------------------------------------------------


def _checkpoint(cp: ledger_tree.StoredCheckpoint) -> dict[str, Any]:
    return {
        "size": cp.size,
        "root": b64encode(cp.root),
        "created_at": cp.created_at,
        "note": cp.note.decode("utf-8"),
    }


def ledger_key(ws: Workspace) -> str:
    return ws.verifier().vkey


def latest_checkpoint(ws: Workspace) -> dict[str, Any]:
    with ws.store.read() as s:
        cp = ledger_tree.require_checkpoint(s)
        size = ledger_tree.ledger_size(s)
    return {**_checkpoint(cp), "ledger_size": size, "vkey": ledger_key(ws)}


def checkpoint_list(ws: Workspace) -> list[dict[str, Any]]:
    with ws.store.read() as s:
        return [_checkpoint(cp) for cp in reversed(ledger_tree.checkpoints(s))]


def _entry_view(row: Any, full: bool) -> dict[str, Any]:
    shown = full or row.kind in PUBLIC_KINDS
    return {
        "index": row.idx,
        "kind": row.kind,
        "time": row.created_at,
        "subject": row.subject if shown else None,
        "leaf_hash": b64encode(row.leaf_hash),
        "withheld": not shown,
    }


def ledger_entries(ws: Workspace, start: int, limit: int, full: bool) -> dict[str, Any]:
    with ws.store.read() as s:
        rows = repo.ledger_entries(s, start, start + limit)
        size = ledger_tree.ledger_size(s)
    items = [_entry_view(r, full) for r in rows]
    nxt = start + limit if start + limit < size else None
    return {"items": items, "next_cursor": None if nxt is None else encode_cursor(nxt)}


def ledger_entry(ws: Workspace, index: int, full: bool) -> dict[str, Any]:
    with ws.store.read() as s:
        row = repo.ledger_entry(s, index)
    view = _entry_view(row, full)
    if not view["withheld"]:
        view["data"] = base64.b64encode(row.data).decode("ascii")
        view["record"] = read_entry(row.data)[2]
    return view


def _covering(ws: Workspace, size: int, at: int | None) -> ledger_tree.StoredCheckpoint:
    with ws.store.read() as s:
        if at is not None:
            cp = ledger_tree.checkpoint_at(s, at)
            if cp is None:
                raise NotFoundError(
                    f"no signed checkpoint of size {at}",
                    hint="see /api/v1/ledger/checkpoints for the sizes there are",
                )
            if cp.size < size:
                raise InputError(f"the checkpoint of size {at} does not include entry {size - 1}")
            return cp
        latest = ledger_tree.latest_checkpoint(s)
    if latest is not None and latest.size >= size:
        return latest
    if ws.has_ledger_key():
        return ws.checkpoint().checkpoint
    with ws.store.read() as s:
        return ledger_tree.require_checkpoint(s, size)


def inclusion(ws: Workspace, index: int, full: bool, at: int | None = None) -> dict[str, Any]:
    """Everything a browser needs to check entry ``index`` without trusting this server."""
    view = ledger_entry(ws, index, full)
    cp = _covering(ws, index + 1, at)
    with ws.store.read() as s:
        proof = ledger_tree.prove_inclusion(s, index, cp.size)
    return {
        **view,
        "tree_size": cp.size,
        "proof": [b64encode(h) for h in proof],
        "checkpoint": cp.note.decode("utf-8"),
        "vkey": ledger_key(ws),
    }


def consistency(ws: Workspace, old: int, new: int) -> dict[str, Any]:
    if old > new:
        raise InputError(f"old size {old} is larger than new size {new}", hint="swap them")
    with ws.store.read() as s:
        found = {n: ledger_tree.checkpoint_at(s, n) for n in (old, new)}
        for n, cp in found.items():
            if cp is None:
                raise NotFoundError(
                    f"no signed checkpoint of size {n}",
                    hint="see /api/v1/ledger/checkpoints for the sizes there are",
                )
        proof = ledger_tree.prove_consistency(s, old, new)
    a, b = found[old], found[new]
    assert a is not None and b is not None
    return {
        "old": _checkpoint(a),
        "new": _checkpoint(b),
        "proof": [b64encode(h) for h in proof],
        "vkey": ledger_key(ws),
    }
