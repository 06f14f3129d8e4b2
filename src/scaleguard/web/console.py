"""The operator console's read views: models, determinations against thresholds, decisions.

Shaped from :func:`scaleguard.decisions.service.status` and the recorded rows;
the charts are server-rendered SVG geometry (no JavaScript): each indicator's
estimate and confidence interval on a 0-1 scale, with its threshold and its
early-warning band.
"""

from __future__ import annotations

from typing import Any

from scaleguard.decisions import service as decisions
from scaleguard.decisions.recorded import recorded_decision, recorded_decisions
from scaleguard.errors import NotFoundError
from scaleguard.store import repo
from scaleguard.workspace import shown
from scaleguard.workspace.pinned import applied_framework
from scaleguard.workspace.workspace import Workspace

CHART_WIDTH = 420
STATE_ORDER = ("crossed", "ambiguous", "alert", "below", "missing")


def models(ws: Workspace) -> list[dict[str, Any]]:
    rows, _ = shown.registry(ws)
    return [
        {
            "name": m.name,
            "developer": m.developer,
            "own": m.own,
            "parent": m.parent,
            "status": m.status,
            "released_on": m.released_on.isoformat() if m.released_on else None,
            "safeguards_level": m.safeguards_level,
            "effective_compute": m.effective_compute,
        }
        for m in rows
    ]


def _x(value: float | None) -> float | None:
    if value is None:
        return None
    return round(max(0.0, min(1.0, value)) * CHART_WIDTH, 1)


def _chart(det: Any) -> dict[str, Any] | None:
    """Geometry of one indicator against its threshold (only for 0-1 scores)."""
    params = det.params
    threshold = params.get("threshold")
    warning = params.get("early_warning")
    values = [v for v in (det.estimate, det.low, det.high, threshold, warning) if v is not None]
    if threshold is None or not values or min(values) < 0 or max(values) > 1:
        return None
    lo, hi = sorted((warning if warning is not None else threshold, threshold))
    return {
        "width": CHART_WIDTH,
        "threshold_x": _x(threshold),
        "band_x": _x(lo),
        "band_width": round((_x(hi) or 0) - (_x(lo) or 0), 1),
        "estimate_x": _x(det.estimate),
        "low_x": _x(det.low),
        "high_x": _x(det.high),
        "label": (f"estimate {det.estimate:.2f}" if det.estimate is not None else "no estimate")
        + (
            f" ({det.low:.2f}–{det.high:.2f})"
            if det.low is not None and det.high is not None
            else ""
        )
        + f"; threshold {params.get('comparator', '')} {threshold}"
        + (f"; early warning from {warning}" if warning is not None else ""),
    }


def model_status(ws: Workspace, name: str, framework: str | None) -> dict[str, Any]:
    with ws.store.read() as s:
        model = repo.model(s, name)
    ref = framework or ws.config.frameworks.default
    if ref is None:
        raise NotFoundError(
            "no framework named and no default in scaleguard.toml",
            hint="pass ?framework=ID@VERSION",
        )
    # a name from the request: never a file path; nor rules changed under their version
    fw = applied_framework(ws, ws.library().get_ref(ref))
    rows = []
    for st in decisions.status(ws, name, fw):
        finding = st.finding
        indicators = [
            {
                "indicator": d.indicator_id,
                "state": d.state,
                "estimate": d.estimate,
                "low": d.low,
                "high": d.high,
                "threshold": d.params.get("threshold"),
                "early_warning": d.params.get("early_warning"),
                "comparator": d.params.get("comparator"),
                "ledger_index": d.ledger_index,
                "chart": _chart(d),
            }
            for d in st.determinations
        ]
        rows.append(
            {
                "threshold_id": st.threshold_id,
                "name": st.name,
                "state": finding.state,
                "override": None
                if st.override is None
                else {"by": st.override.author, "reason": st.override.justification},
                "indicators": indicators,
            }
        )
    return {"model": model.name, "own": model.own, "framework": fw.ref, "thresholds": rows}


def _decision(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "model": d.model,
        "action": d.action,
        "framework_ref": d.framework_ref,
        "compare_ref": d.compare_ref,
        "outcome": d.outcome,
        "created_at": d.created_at,
        "created_by": d.created_by,
        "ledger_index": d.ledger_index,
    }


def decision_list(ws: Workspace) -> list[dict[str, Any]]:
    return [_decision(d) for d in reversed(recorded_decisions(ws))]


def decision(ws: Workspace, decision_id: int) -> dict[str, Any]:
    """A recorded decision with its full explanation, and the counterfactual recorded with it."""
    try:
        d, found = recorded_decision(ws, decision_id)
    except NotFoundError:
        raise NotFoundError(f"no decision #{decision_id}", hint="see /api/v1/decisions") from None
    twin = None
    if d.compare_ref is not None:
        candidates = [
            o
            for o in found
            if o.id != d.id
            and o.model == d.model
            and o.action == d.action
            and o.framework_ref == d.compare_ref
            and o.compare_ref == d.framework_ref
        ]
        twin = min(candidates, key=lambda o: abs(o.id - d.id), default=None)
    return {
        **_decision(d),
        "record": dict(d.record),
        "counterfactual": None
        if twin is None
        else {**_decision(twin), "record": dict(twin.record)},
    }
