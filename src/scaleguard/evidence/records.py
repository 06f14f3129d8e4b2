"""Validated evidence records: what one evaluation artifact says, and nothing more.

Readers turn raw artifacts (Inspect logs, lm-evaluation-harness results, CSV)
into these models; storage keeps them as they are. Every number is checked to
be finite here, so NaN or infinity can never reach a determination: a metric
that is not a number is not evidence.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

SourceFormat = Literal["inspect-eval", "inspect-json", "lm-eval", "csv"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = ("inspect-eval", "inspect-json", "lm-eval", "csv")


def _finite(value: object) -> object:
    """Reject NaN, infinity and booleans before pydantic coerces them."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value!r}")
    if isinstance(value, int | float) and not math.isfinite(value):
        raise ValueError(
            f"must be a finite number, got {value!r} (NaN and infinity carry no evidence)"
        )
    return value


def _visible_name(value: str) -> str:
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValueError("must not contain control characters")
    return value


def _free_text(value: str) -> str:
    if any((ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ValueError("must not contain control characters (other than tab and newline)")
    return value


FreeText = Annotated[str, AfterValidator(_free_text)]
FiniteFloat = Annotated[float, BeforeValidator(_finite), Field(allow_inf_nan=False)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=500), AfterValidator(_visible_name)
]


#: Metrics that are proportions (a share of samples): their values and per-sample
#: scores must lie in [0, 1]. Matched on the metric name without its scorer prefix.
PROPORTION_METRIC = re.compile(
    r"^(acc|accuracy|acc_norm|exact_match|em|f1|precision|recall|pass_rate|success_rate|"
    r"pass@\d+|pass_at_\d+|[a-z_]+_rate)$"
)


def is_proportion(metric: str) -> bool:
    return PROPORTION_METRIC.match(metric.rsplit("/", 1)[-1].lower()) is not None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunMetadata(_Frozen):
    """Identity of the run that produced a result, as far as the artifact states it."""

    run_id: str | None = Field(None, description="Inspect run id (one `eval()` call).")
    eval_id: str | None = Field(None, description="Inspect eval id (one task run); stable.")
    created: str | None = Field(None, description="When the run was created, ISO 8601.")
    task_version: str | None = Field(None, description="Task version as the artifact names it.")
    producer: str | None = Field(None, description="Tool and version that wrote the artifact.")
    n_shot: int | None = Field(None, ge=0, description="Few-shot count (lm-evaluation-harness).")


class EvidenceRecord(_Frozen):
    """One metric value for one model on one task, with its per-sample scores if known.

    ``metric`` is the name a framework indicator matches against: for Inspect
    logs ``"<score>/<metric>"`` (e.g. ``"match/accuracy"``), for
    lm-evaluation-harness the metric without its filter suffix (``"acc"``),
    for CSV whatever the file says. ``sample_scores`` flattens epochs in a
    stable order (epoch, then sample id).
    """

    model: Name = Field(description="Model as the artifact names it, e.g. 'openai/gpt-4o'.")
    task: Name
    metric: Name
    value: FiniteFloat
    sample_count: int | None = Field(None, ge=0, description="Samples the metric was computed on.")
    sample_scores: list[FiniteFloat] | None = Field(
        None, description="Per-sample numeric scores (epochs flattened), if the artifact has them."
    )
    stderr: FiniteFloat | None = Field(None, ge=0, description="Standard error the artifact gives.")
    scorer: FreeText | None = Field(None, description="Inspect scorer that produced the metric.")
    reducer: FreeText | None = Field(None, description="Inspect epoch reducer, when there is one.")
    filter: FreeText | None = Field(None, description="lm-evaluation-harness filter, e.g. 'none'.")
    source: FreeText | None = Field(None, description="Free-text provenance (CSV 'source' column).")
    notes: FreeText | None = Field(None, description="Free-text notes (CSV 'notes' column).")
    source_format: SourceFormat
    artifact_sha256: Sha256Hex = Field(description="SHA-256 of the raw artifact bytes, hex.")
    artifact_name: Name = Field(description="File name (or path) the artifact was read from.")
    run: RunMetadata = Field(default_factory=RunMetadata)

    @property
    def bare_metric(self) -> str:
        """The metric without its ``<score>/`` prefix (``"accuracy"``)."""
        return self.metric.rsplit("/", 1)[-1]

    @model_validator(mode="after")
    def _plausible(self) -> EvidenceRecord:
        if is_proportion(self.metric):
            if not 0.0 <= self.value <= 1.0:
                raise ValueError(
                    f"{self.metric} is a proportion, so its value must lie in [0, 1]; got "
                    f"{self.value!r}"
                )
            bad = [x for x in self.sample_scores or () if not 0.0 <= x <= 1.0]
            if bad:
                raise ValueError(
                    f"{self.metric} is a proportion, so every per-sample score must lie in "
                    f"[0, 1]; got {bad[0]!r}"
                )
        if (
            self.source_format == "csv"
            and self.sample_scores is not None
            and self.sample_count is not None
            and self.sample_count != len(self.sample_scores)
        ):
            raise ValueError(
                f"sample_count is {self.sample_count} but {len(self.sample_scores)} per-sample "
                "scores are given; they must agree"
            )
        return self


class ArtifactEvidence(_Frozen):
    """Everything read from one artifact: all of its records or none of them."""

    artifact_sha256: Sha256Hex
    artifact_name: Name
    source_format: SourceFormat
    size: int = Field(ge=0, description="Size of the raw artifact in bytes.")
    records: list[EvidenceRecord] = Field(min_length=1)
    notes: list[str] = Field(
        default_factory=list,
        description="What the reader skipped and why (e.g. a metric whose value is NaN).",
    )

    @model_validator(mode="after")
    def _records_belong_here(self) -> ArtifactEvidence:
        for record in self.records:
            if (
                record.artifact_sha256 != self.artifact_sha256
                or record.source_format != self.source_format
            ):
                raise ValueError(
                    f"record {record.model}/{record.task}/{record.metric} names artifact "
                    f"{record.artifact_sha256[:12]} ({record.source_format}), not "
                    f"{self.artifact_sha256[:12]} ({self.source_format})"
                )
        return self
