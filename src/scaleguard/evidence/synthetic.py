"""Genuine Inspect logs built from a list of scores, without running a model.

Running ``inspect eval`` needs a model provider; for demos, tests and
benchmarks scaleguard instead builds the :class:`~inspect_ai.log.EvalLog`
objects directly and lets Inspect's own writer serialise them, so the files are
real ``.eval`` / ``.json`` logs that any Inspect tool can open. Everything is
deterministic: the same arguments give the same log.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalResults,
    EvalSample,
    EvalSampleReductions,
    EvalSampleScore,
    EvalScore,
    EvalSpec,
    EvalStats,
    EvalStatus,
)
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelOutput
from inspect_ai.scorer import Score, value_to_float

_WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")


def _stable_id(*parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return digest[:22]


def _filler(index: int, chars: int) -> str:
    """Varied text so padded transcripts do not compress to nothing."""
    words: list[str] = []
    length = 0
    step = 0
    while length < chars:
        word = _WORDS[(index * 7 + step * 3 + step // 10) % len(_WORDS)] + str(step % 97)
        words.append(word)
        length += len(word) + 1
        step += 1
    return " ".join(words)[:chars]


def make_eval_log(
    task: str,
    model: str,
    scores: Sequence[float | str],
    *,
    epochs: int = 1,
    scorer: str = "match",
    status: EvalStatus = "success",
    created: str = "2026-01-05T12:00:00+00:00",
    task_version: int = 1,
    transcript_chars: int = 200,
) -> EvalLog:
    """Build a complete log for ``task`` on ``model`` with the given per-sample scores.

    ``scores`` lists epoch 1 for every sample, then epoch 2, and so on, so its
    length must be a multiple of ``epochs``. Values may be numbers or Inspect's
    letter grades (``"C"``, ``"I"``, ``"P"``, ``"N"``). Metrics ``accuracy``
    and ``stderr`` are computed as Inspect does: per-sample mean over epochs,
    then mean (and standard error) over samples. ``transcript_chars`` pads each
    sample's conversation so benchmarks see realistic sample sizes.
    A non-success ``status`` gives a log without results, as Inspect writes one.
    """
    if epochs < 1 or not scores or len(scores) % epochs:
        raise ValueError("scores must be non-empty and a multiple of epochs in length")
    n = len(scores) // epochs
    to_float = value_to_float()
    eval_id = _stable_id("eval", task, model, tuple(scores), epochs, created, status)
    run_id = _stable_id("run", eval_id)
    sample_ids: list[int | str] = [f"s{i}" for i in range(n)]

    samples: list[EvalSample] = []
    for epoch in range(1, epochs + 1):
        for i, sample_id in enumerate(sample_ids):
            value = scores[(epoch - 1) * n + i]
            answer = _filler(i + 31 * epoch, max(transcript_chars, 1))
            samples.append(
                EvalSample(
                    id=sample_id,
                    epoch=epoch,
                    input=f"Question {i}: {_filler(i, 40)}?",
                    target="A",
                    messages=[
                        ChatMessageUser(content=f"Question {i}: {_filler(i, 40)}?"),
                        ChatMessageAssistant(content=answer, model=model),
                    ],
                    output=ModelOutput.from_content(model, answer),
                    scores={scorer: Score(value=value, answer=answer[:20])},
                    uuid=_stable_id("sample", eval_id, sample_id, epoch),
                )
            )

    per_sample = [
        sum(to_float(scores[(e - 1) * n + i]) for e in range(1, epochs + 1)) / epochs
        for i in range(n)
    ]
    mean = sum(per_sample) / n
    if n > 1:
        variance = sum((x - mean) ** 2 for x in per_sample) / (n - 1)
        stderr = math.sqrt(variance / n)
    else:
        stderr = 0.0

    success = status == "success"
    results = (
        EvalResults(
            total_samples=n * epochs,
            completed_samples=n * epochs,
            scores=[
                EvalScore(
                    name=scorer,
                    scorer=scorer,
                    reducer="mean" if epochs > 1 else None,
                    scored_samples=n,
                    unscored_samples=0,
                    metrics={
                        "accuracy": EvalMetric(name="accuracy", value=mean),
                        "stderr": EvalMetric(name="stderr", value=stderr),
                    },
                )
            ],
        )
        if success
        else None
    )
    reductions = (
        [
            EvalSampleReductions(
                scorer=scorer,
                reducer="mean" if epochs > 1 else None,
                samples=[
                    EvalSampleScore(value=v, sample_id=sid)
                    for sid, v in zip(sample_ids, per_sample, strict=True)
                ],
            )
        ]
        if success
        else None
    )
    error = (
        EvalError(message="RuntimeError: solver failed", traceback="", traceback_ansi="")
        if status == "error"
        else None
    )
    log = EvalLog(
        status=status,
        eval=EvalSpec(
            eval_id=eval_id,
            run_id=run_id,
            created=created,
            task=task,
            task_id=_stable_id("task", task),
            task_version=task_version,
            dataset=EvalDataset(name=task, samples=n, sample_ids=sample_ids),
            model=model,
            config=EvalConfig(epochs=epochs),
            packages={"inspect_ai": "synthetic"},
        ),
        plan=EvalPlan(),
        results=results,
        stats=EvalStats(started_at=created, completed_at=created),
        error=error,
        samples=samples,
    )
    # EvalLog's before-validator expects reductions as raw data; attach them afterwards
    log.reductions = reductions
    return log
