"""The screen: a cascade of normalisation, rules, embeddings and (optionally) a judge.

1. :mod:`~scaleguard.usage.normalise` turns a request into views (plain,
   de-obfuscated, decoded base64/hex/rot13 spans).
2. :mod:`~scaleguard.usage.rules` runs each clause's deterministic rules on
   every view.
3. Every view, in overlapping windows of tokens that cover all of it and that
   the model reads whole, is embedded and compared with each clause's positive
   examples and with the benign look-alikes; the clause score is
   ``s_pos + 0.5 * (s_pos - s_benign)`` and is banded with per-clause
   thresholds calibrated on the examples (:mod:`~scaleguard.usage.scoring`);
   a clause's band is the worst any one window reaches. A policy clause is calibrated and
   scored against the policy's own look-alikes only: a contract's benign
   examples count for the contract's own clauses, never for the policy's.
4. A judge (:mod:`~scaleguard.usage.judge`), when configured, looks at the
   review band only, shown the readings that held each clause.

It fails closed: a window the model would cut short holds the request for
review, and a contract's exception applies only up to its expiry date on the
screen's clock, however long the screener has been running.

The result names the clause, the policy version and digest, the contract
version, the score and thresholds, what decided it, and a request id.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from scaleguard.errors import InputError
from scaleguard.usage import contracts as _contracts
from scaleguard.usage.contracts import (
    ContractException,
    EffectiveClause,
    LoadedContract,
    effective_clauses,
)
from scaleguard.usage.loader import LoadedPolicy
from scaleguard.usage.normalise import View, limit_reason, views
from scaleguard.usage.rules import CompiledRule, RuleHit, compile_rules, run_rules
from scaleguard.usage.scoring import (
    Band,
    Calibration,
    calibrate,
    clause_scores,
    window_band,
    windows,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from scaleguard.usage.embed import Embedder
    from scaleguard.usage.judge import Judge

BAND_ORDER: dict[str, int] = {"allow": 0, "review": 1, "block": 2}
MAX_CHARS = 100_000
#: Why a request goes to review when a window was longer than the model reads.
UNREAD = (
    "part of the request was too long for the embedding model to read whole, "
    "so it was not fully screened"
)
#: ``decided_by`` of a request held because it was not fully screened.
UNREAD_HOW = "not fully screened"
#: Pools of benign look-alikes: the policy's own, and the policy's plus a contract's.
POLICY_POOL = "policy"
CONTRACT_POOL = "contract"


class ClauseScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    clause: str
    score: float
    review_threshold: float
    block_threshold: float
    nearest_exemplar: str
    nearest_benign: str
    view: str
    band: Band


class ScreenResult(BaseModel):
    """One decision, with everything needed to explain and audit it."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    band: Band
    clause: str | None
    clause_title: str | None
    red_line: bool
    score: float | None
    decided_by: str
    reason: str
    policy: str
    policy_digest: str
    contract: str | None
    customer: str | None
    model_sha256: str
    input_sha256: str
    input_chars: int
    rules: list[str]
    scores: list[ClauseScore]
    exception: str | None = None
    judge: str | None = None
    #: How serve-screen established the customer: "pinned", "api-key" or "declared"
    #: (None: screened outside the server, by ``scaleguard screen``).
    customer_identity: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "band": self.band,
            "clause": self.clause,
            "score": self.score,
            "decided_by": self.decided_by,
        }


@dataclass
class ClauseIndex:
    eff: EffectiveClause
    positives: npt.NDArray[np.float32]
    calibration: Calibration
    #: Which benign look-alikes score this clause (POLICY_POOL or CONTRACT_POOL).
    pool: str = POLICY_POOL

    @property
    def id(self) -> str:
        return self.eff.clause.id

    def thresholds(self) -> tuple[float, float]:
        fixed = self.eff.clause.thresholds
        review = fixed.review if fixed else self.calibration.review
        block = fixed.block if fixed else self.calibration.block
        return review - self.eff.lower_by, block - self.eff.lower_by


def input_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _cache_dir() -> Path:
    import os

    explicit = os.environ.get("SCALEGUARD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaleguard" / "usage"


def cached_embeddings(embedder: Embedder, texts: list[str]) -> npt.NDArray[np.float32]:
    """Embeddings of the policy's examples, cached on disk by model and text hash.

    The cache only saves start-up time: a missing, unreadable or mismatched file is
    recomputed, and the key covers the model file's SHA-256 and every example.
    """
    import numpy as np

    h = hashlib.sha256(embedder.model_sha256.encode())
    for t in texts:
        h.update(b"\0" + t.encode("utf-8", "surrogatepass"))
    path = _cache_dir() / f"{h.hexdigest()}.npy"
    try:
        found: npt.NDArray[np.float32] = np.load(path, allow_pickle=False)
        if found.shape == (len(texts), 384) and found.dtype == np.float32:
            return found
    except (OSError, ValueError):
        pass
    vectors = embedder.embed(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        with tmp.open("wb") as fh:
            np.save(fh, vectors, allow_pickle=False)
        tmp.replace(path)
    except OSError:
        pass
    return vectors


def _examples(effective: list[EffectiveClause]) -> tuple[list[str], list[str], list[str]]:
    """The clauses' positive examples, their benign look-alikes, and the look-alikes' ids."""
    pos = [t for e in effective for t in e.clause.examples.positive]
    ben = [t for e in effective for t in e.clause.examples.benign]
    ids = [
        f"{e.clause.id}/benign/{i}" for e in effective for i in range(len(e.clause.examples.benign))
    ]
    return pos, ben, ids


def _index(
    effective: list[EffectiveClause],
    positives: npt.NDArray[np.float32],
    benign: npt.NDArray[np.float32],
    pool: str,
) -> list[ClauseIndex]:
    out = []
    start = 0
    for e in effective:
        pos = positives[start : start + len(e.clause.examples.positive)]
        start += len(pos)
        out.append(ClauseIndex(e, pos, calibrate(pos, benign), pool))
    return out


class Screener:
    """Screens requests for one policy and (optionally) one customer's contract."""

    def __init__(
        self,
        policy: LoadedPolicy,
        embedder: Embedder,
        contract: LoadedContract | None = None,
        *,
        judge: Judge | None = None,
        today: date | None = None,
    ) -> None:
        import numpy as np

        self.policy = policy
        self.contract = contract
        self.embedder = embedder
        self.judge = judge
        #: A fixed date for every decision; None follows the clock, request by request.
        self.fixed_today = today
        # Every exception, whatever its expiry: whether one applies is decided per
        # request, on the screen's clock (see :meth:`today`).
        effective = effective_clauses(policy, contract, today=date.min)
        self.rules: list[CompiledRule] = compile_rules([e.clause for e in effective])
        self.by_id = {e.clause.id: e for e in effective}
        own = [e for e in effective if e.origin == "policy"]
        added = [e for e in effective if e.origin != "policy"]
        # The policy's clauses are calibrated and scored against the policy's own
        # look-alikes and background only, so nothing a contract lists as benign can
        # raise a policy clause's thresholds or outvote its positives.
        background = list(policy.policy.background)
        pos, ben, ben_ids = _examples(own)
        vectors = cached_embeddings(embedder, [*pos, *ben, *background])
        self.benign = vectors[len(pos) :]
        self.benign_ids = [*ben_ids, *(f"background/{i}" for i in range(len(background)))]
        self.pools: dict[str, tuple[npt.NDArray[np.float32], list[str]]] = {
            POLICY_POOL: (self.benign, self.benign_ids)
        }
        self.index = _index(own, vectors[: len(pos)], self.benign, POLICY_POOL)
        if added:
            # A contract's own clauses: the policy's look-alikes and the contract's.
            cpos, cben, cben_ids = _examples(added)
            cvectors = cached_embeddings(embedder, [*cpos, *cben])
            pool = np.concatenate([self.benign, cvectors[len(cpos) :]], axis=0)
            self.pools[CONTRACT_POOL] = (pool, [*self.benign_ids, *cben_ids])
            self.index.extend(_index(added, cvectors[: len(cpos)], pool, CONTRACT_POOL))
        self._np = np

    def today(self) -> date:
        """The date decisions are made on: the fixed one, or today's (UTC) at each call.

        The same clock that validates contracts, read per batch, so a screener kept for
        days (the server caches one per contract) stops applying an exception once it
        has expired.
        """
        return self.fixed_today or _contracts._today()

    # -- one request ----------------------------------------------------------

    def screen(self, text: str, *, request_id: str | None = None) -> ScreenResult:
        return self.screen_many([text], request_ids=[request_id] if request_id else None)[0]

    def screen_many(
        self, texts: list[str], *, request_ids: list[str] | None = None, first_index: int = 0
    ) -> list[ScreenResult]:
        """Screen a batch; embeddings for all views and windows run in one pass."""

        def numbered(exc: InputError, n: int) -> InputError:
            """A batch's error names the input it is about; a single text's stands as is."""
            if len(texts) == 1 and first_index == 0:
                return exc
            return InputError(f"input {first_index + n + 1}: {exc.message}", hint=exc.hint)

        prepared = []
        for n, text in enumerate(texts):
            try:
                prepared.append(self._prepare(text))
            except InputError as exc:
                raise numbered(exc, n) from None
        flat = [view for _, vws in prepared for view in vws]
        offsets = self.embedder.token_offsets([view.text for view in flat]) if flat else []
        chunks: list[str] = []
        owners: list[tuple[int, str]] = []
        k = 0
        for n, (_, vws) in enumerate(prepared):
            for view in vws:
                try:
                    spans = windows(view.text, self.embedder, offsets[k])
                except InputError as exc:
                    raise numbered(exc, n) from None
                k += 1
                for a, b in spans:
                    chunks.append(view.text[a:b])
                    owners.append((n, view.kind))
        vectors, cut = self.embedder.embed_checked(chunks) if chunks else (None, [])
        day = self.today()
        results = []
        for n, (text, vws) in enumerate(prepared):
            rows = [i for i, (owner, _) in enumerate(owners) if owner == n]
            rid = request_ids[n] if request_ids else str(uuid.uuid4())
            unread = UNREAD if any(cut[i] for i in rows) else limit_reason(vws)
            results.append(self._decide(text, vws, vectors, rows, owners, rid, day, unread))
        return results

    def _prepare(self, text: str) -> tuple[str, list[View]]:
        if not isinstance(text, str):
            raise InputError("the request text must be a string")
        if not text.strip():
            raise InputError("the request text is empty", hint="send the prompt to screen")
        if len(text) > MAX_CHARS:
            raise InputError(
                f"the request is {len(text):,} characters, over the {MAX_CHARS:,} limit",
                hint="split it into several requests",
            )
        return text, views(text)

    def _decide(
        self,
        text: str,
        vws: list[View],
        vectors: npt.NDArray[np.float32] | None,
        rows: list[int],
        owners: list[tuple[int, str]],
        request_id: str,
        day: date,
        unread: str | None,
    ) -> ScreenResult:
        """``unread``: why the text was not fully screened (a window the model cut, encoded
        spans past the view cap), or None. Such a request is never allowed, by the screen
        or by a judge: at best it is held for review, with that reason."""
        hits: list[RuleHit] = []
        for view in vws:
            hits.extend(run_rules(self.rules, view.kind, view.text))
        # The readings that held each clause, for a judge to be shown (see judge.Held).
        held_by: dict[str, set[str]] = {}
        for hit in hits:
            held_by.setdefault(hit.clause, set()).add(hit.view)
        scores: list[ClauseScore] = []
        if vectors is not None and rows:
            x = vectors[rows]
            kinds = [owners[i][1] for i in rows]
            nearest_benign = {}
            for name, (pool, _) in self.pools.items():
                sb = x @ pool.T
                nearest_benign[name] = (sb.max(axis=1), sb.argmax(axis=1))
            for ci in self.index:
                best_b, near_b = nearest_benign[ci.pool]
                s, closer, near_p = clause_scores(x, ci.positives, best_b)
                review, block = ci.thresholds()
                band, best, hot = window_band(s, closer, review, block)
                value = float(s[best])
                held_by.setdefault(ci.id, set()).update(kinds[i] for i in hot.nonzero()[0])
                scores.append(
                    ClauseScore(
                        clause=ci.id,
                        score=round(value, 4),
                        review_threshold=round(review, 4),
                        block_threshold=round(block, 4),
                        nearest_exemplar=f"{ci.id}/positive/{int(near_p[best])}",
                        nearest_benign=self.pools[ci.pool][1][int(near_b[best])],
                        view=kinds[best],
                        band=band,
                    )
                )
        return self._combine(text, hits, scores, request_id, day, unread, vws, held_by)

    def _cap(self, eff: EffectiveClause, band: Band) -> Band:
        if eff.force == "restricted" and band == "block":
            return "review"
        return band

    def _exception(self, eff: EffectiveClause, day: date) -> ContractException | None:
        """The contract's exception for ``eff`` if it applies on ``day`` (never a red line's)."""
        found = eff.exception
        if found is None or eff.red_line or found.expires < day:
            return None
        return found

    def _combine(
        self,
        text: str,
        hits: list[RuleHit],
        scores: list[ClauseScore],
        request_id: str,
        day: date,
        unread: str | None,
        vws: list[View],
        held_by: dict[str, set[str]],
    ) -> ScreenResult:
        # Candidates: (band, red line, decided by a rule, score, clause, how, band)
        candidates: list[tuple[int, int, int, float, str, str, Band]] = []
        by_clause = {cs.clause: cs.score for cs in scores}
        for hit in hits:
            eff = self.by_id[hit.clause]
            band = self._cap(eff, "block" if hit.band == "block" else "review")
            how = f"rule {hit.rule} on view {hit.view}" + (
                " (softened by context)" if hit.softened else ""
            )
            value = by_clause.get(hit.clause, 0.0)
            candidates.append(
                (BAND_ORDER[band], int(eff.red_line), 1, value, hit.clause, how, band)
            )
        for cs in scores:
            if cs.band == "allow":
                continue
            eff = self.by_id[cs.clause]
            band = self._cap(eff, cs.band)
            how = f"nearest exemplar {cs.nearest_exemplar} on view {cs.view}"
            candidates.append(
                (BAND_ORDER[band], int(eff.red_line), 0, cs.score, cs.clause, how, band)
            )
        exception = None
        kept = []
        for cand in candidates:
            eff = self.by_id[cand[4]]
            granted = self._exception(eff, day)
            if granted is not None:
                exception = f"{eff.clause.id}: {granted.scope} (until {granted.expires})"
                continue
            kept.append(cand)
        top_score = max((cs.score for cs in scores), default=None)
        if not kept:
            band, how, reason = "allow", "no match", "no clause matched"
            if exception:
                reason = f"allowed under the contract's exception for {exception}"
            if unread:
                band, how, reason = "review", UNREAD_HOW, f"held for human review: {unread}"
            return self._result(
                text, request_id, band, None, top_score, how, reason, hits, scores, exception
            )
        kept.sort(key=lambda c: c[:4], reverse=True)
        _, _, _, score, clause_id, how, band = kept[0]
        clause = self.by_id[clause_id].clause
        verb = {"block": "blocked", "review": "held for human review"}[band]
        reason = f"{verb} under clause {clause_id} ({clause.title}): {how}"
        if unread and band == "review":
            reason += f"; {unread}"
        result = self._result(
            text,
            request_id,
            band,
            clause_id,
            score,
            how,
            reason,
            hits,
            scores,
            exception,
        )
        if band == "review" and self.judge is not None:
            from scaleguard.usage.judge import apply_judge, held_clauses

            held = held_clauses([(self.by_id[c[4]], c[3]) for c in kept], vws, held_by)
            result = apply_judge(self.judge, result, held, text, unread=unread)
        return result

    def _result(
        self,
        text: str,
        request_id: str,
        band: Band,
        clause_id: str | None,
        score: float | None,
        how: str,
        reason: str,
        hits: list[RuleHit],
        scores: list[ClauseScore],
        exception: str | None,
    ) -> ScreenResult:
        clause = self.by_id[clause_id] if clause_id else None
        return ScreenResult(
            request_id=request_id,
            band=band,
            clause=clause_id,
            clause_title=clause.clause.title if clause else None,
            red_line=bool(clause and clause.red_line),
            score=round(score, 4) if score is not None else None,
            decided_by=how,
            reason=reason,
            policy=self.policy.ref,
            policy_digest=self.policy.digest,
            contract=self.contract.ref if self.contract else None,
            customer=self.contract.contract.customer if self.contract else None,
            model_sha256=self.embedder.model_sha256,
            input_sha256=input_digest(text),
            input_chars=len(text),
            rules=sorted({h.rule for h in hits}),
            scores=sorted(scores, key=lambda s: -s.score)[:3],
            exception=exception,
        )
