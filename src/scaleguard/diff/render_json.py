"""The JSON form of a diff: format ``scaleguard.diff/1``, documented in docs/diff.md.

Keys appear in a fixed order and every list is already ordered, so dumping the
result with ``sort_keys`` or without gives the same bytes on every run.
"""

from __future__ import annotations

from typing import Any

from scaleguard.diff.model import (
    CHANGE_KINDS,
    CLASSIFICATIONS,
    Change,
    Coverage,
    FrameworkDiff,
    SideInfo,
)

FORMAT = "scaleguard.diff/1"


def render_json(d: FrameworkDiff) -> dict[str, Any]:
    """The diff as plain JSON-ready data (the caller chooses indentation)."""
    counts = d.counts
    kinds = d.change_counts
    unannounced = d.unannounced_counts
    return {
        "format": FORMAT,
        "a": _side(d.a),
        "b": _side(d.b),
        "cross_framework": d.cross_framework,
        "changes": [_change(c) for c in d.changes],
        "coverage": _coverage(d.coverage),
        "summary": {
            "headline": d.headline,
            "cross_framework": d.cross_framework,
            "total": len(d.changes),
            "counts": {c: counts[c] for c in CLASSIFICATIONS},
            "by_change": {k: kinds[k] for k in CHANGE_KINDS},
            "unannounced": {
                "total": d.unannounced,
                "counts": {c: unannounced[c] for c in CLASSIFICATIONS},
            },
            "most_important": [
                {
                    "family": c.family,
                    "id": c.id,
                    "change": c.change,
                    "classification": c.classification,
                    "reason": c.reason,
                    "unannounced": c.unannounced,
                }
                for c in d.most_important()
            ],
        },
    }


def _side(s: SideInfo) -> dict[str, Any]:
    return {
        "ref": s.ref,
        "framework_id": s.framework_id,
        "version": s.version,
        "title": s.title,
        "developer": s.developer,
        "effective_date": s.effective_date,
        "digest": f"sha256:{s.digest}",
    }


def _change(c: Change) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "family": c.family,
        "change": c.change,
        "classification": c.classification,
        "reason": c.reason,
        "rule": c.rule,
        "priority": c.priority,
        "old_id": c.old_id,
        "new_id": c.new_id,
        "unannounced": c.unannounced,
        "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields],
    }


def _coverage(cov: Coverage) -> dict[str, Any]:
    return {
        "domains": [
            {
                "id": r.id,
                "name": r.name,
                "status_a": r.status_a,
                "status_b": r.status_b,
                "thresholds_a": list(r.thresholds_a),
                "thresholds_b": list(r.thresholds_b),
            }
            for r in cov.domains
        ],
        "only_in_a": {
            "domains": list(cov.domains_only_a),
            "thresholds": list(cov.thresholds_only_a),
        },
        "only_in_b": {
            "domains": list(cov.domains_only_b),
            "thresholds": list(cov.thresholds_only_b),
        },
    }
