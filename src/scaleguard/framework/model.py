"""The framework document: a safety framework as validated, typed data.

One YAML file holds one version of one framework. The shape is documented in
``docs/frameworks.md`` and exported as JSON Schema by
``scaleguard frameworks schema``. Models here check types and local shape
only; cross-references (dangling ids, conditions over facts) are checked by
:mod:`scaleguard.framework.loader`, which sees the whole document.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from scaleguard.framework.durations import Duration

SCHEMA_VERSION = 1

Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80),
    Field(description="Stable identifier: lower case letters, digits, '.', '_' or '-'."),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Version = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+-]*$", max_length=40),
    Field(description='Version label, quoted in YAML ("3.0", not 3.0).'),
]

Force = Literal["binding", "conditional", "goal", "recommendation", "discretionary"]
Scope = Literal["unilateral", "competitor_contingent", "industry_wide"]
Confidence = Literal["primary", "secondary", "uncertain"]
Action = Literal["train", "deploy_internal", "deploy_external", "release_weights"]
ACTIONS: tuple[Action, ...] = ("train", "deploy_internal", "deploy_external", "release_weights")
Outcome = Literal["proceed_with_conditions", "delay", "pause", "not_permitted", "relax_safeguards"]
CommitmentKind = Literal[
    "development_gate",
    "deployment_gate",
    "evaluation_cadence",
    "capability_assessment",
    "safeguards",
    "security",
    "reporting",
    "external_review",
    "disclosure",
    "governance",
    "noncompliance",
    "internal_transparency",
    "framework_change",
    "roadmap",
    "usage_policy",
    "competitor_response",
    "other",
]
TriggerOn = Literal[
    "always",
    "threshold_crossed",
    "required_safeguards_unmet",
    "recommended_safeguards_unmet",
]
SafeguardKind = Literal["deployment", "security", "alignment", "governance", "other"]
ThresholdKind = Literal["threshold", "checkpoint", "monitored"]
DomainStatus = Literal["in_scope", "monitored", "excluded"]
AmbiguityPolicy = Literal["treat_as_crossed", "needs_review"]
Comparator = Literal[">=", ">", "<=", "<"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SourceRef(_Strict):
    """Where an element comes from. Give ``doc`` (an id under ``framework.sources``) or ``url``."""

    doc: Id | None = Field(None, description="Id of an entry in framework.sources.")
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    section: Text = Field(description="Section, page, table or footnote, e.g. '§6.2, fn 13'.")
    note: Text | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> SourceRef:
        if (self.doc is None) == (self.url is None):
            raise ValueError("give exactly one of 'doc' (a framework.sources id) or 'url'")
        return self


class SourceDoc(_Strict):
    id: Id
    title: Text
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    kind: Literal["primary", "secondary"] = "primary"
    note: Text | None = None


class Element(_Strict):
    """Fields every identified element shares: provenance and how sure we are."""

    id: Id
    name: Text
    description: Text | None = None
    source: SourceRef
    confidence: Confidence = Field(
        "primary",
        description="primary: stated in the framework text; secondary: only in analyses; "
        "uncertain: conflicting or unverified (explain in 'uncertainty').",
    )
    uncertainty: Text | None = Field(None, description="What is uncertain, and why.")
    merged_from: list[Id] = Field(
        default_factory=list,
        description="Ids (or legacy aliases) of elements of the superseded version that this "
        "one combines, e.g. two thresholds folded into one.",
    )
    split_from: Id | None = Field(
        None,
        description="Id (or legacy alias) of the element of the superseded version that was "
        "divided into this one and its siblings.",
    )

    @model_validator(mode="after")
    def _explain_uncertainty(self) -> Element:
        if self.confidence == "uncertain" and not self.uncertainty:
            raise ValueError("confidence 'uncertain' needs an 'uncertainty' note saying why")
        return self


Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class PrimaryText(_Strict):
    """The exact primary text a built-in document was encoded from, so anyone can check it."""

    sha256: Sha256 = Field(description="SHA-256 of the text, lower-case hex.")
    retrieved_from: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] = Field(
        description="Where that text was retrieved."
    )
    retrieved: dt.date | None = Field(None, description="When it was retrieved.")
    note: Text | None = None


class HighlyCapable(_Strict):
    """Which capability thresholds make a model "highly capable" in the framework's own sense.

    A framework that conditions commitments on the built-in fact ``highly_capable``
    must say here what the term means; the decision engine derives the fact from
    the determinations of these thresholds.
    """

    thresholds: list[Id] = Field(
        min_length=1,
        description="Ids of thresholds; crossing any one of them makes a model highly capable.",
    )
    source: SourceRef
    note: Text | None = None


class FrameworkMeta(_Strict):
    id: Id = Field(description="Stable key shared by every version, e.g. 'anthropic-rsp'.")
    developer: Text
    title: Text
    version: Version
    effective_date: dt.date
    supersedes: Version | None = Field(None, description="Version this one replaces.")
    sources: list[SourceDoc] = Field(min_length=1)
    ambiguity_policy: AmbiguityPolicy = Field(
        "needs_review",
        description="How a determination whose interval straddles a threshold is treated.",
    )
    ambiguity_source: SourceRef | None = None
    comparability_margin: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Score difference within which two models count as comparable.",
    )
    legal_designation: list[Text] = Field(
        default_factory=list, description="Statutes or codes this document serves (e.g. SB 53)."
    )
    summary: Text | None = None
    highly_capable: HighlyCapable | None = Field(
        None,
        description="The framework's definition of a highly capable model, as thresholds "
        "(required when a condition names the fact highly_capable).",
    )
    primary_text: PrimaryText | None = Field(
        None, description="The primary text this document encodes (required of built-ins)."
    )


class FactDecl(_Strict):
    name: Id
    type: Literal["boolean", "number"]
    description: Text


class RiskDomain(Element):
    status: DomainStatus = "in_scope"


class ExternalReference(_Strict):
    scheme: Text = Field(description="e.g. 'RAND-SL' for RAND's weight-security levels.")
    level: Text
    relation: Literal["equivalent", "approximate", "recommended", "cites"] = "cites"
    note: Text | None = None


class SafeguardStandard(Element):
    kind: SafeguardKind
    level: int | None = Field(None, ge=0, le=20)
    measures: list[Text] = Field(default_factory=list)
    external_references: list[ExternalReference] = Field(default_factory=list)
    specified: bool = Field(
        True, description="False when the framework names the standard but defers its content."
    )


class Indicator(_Strict):
    """How evidence maps to a threshold: metric, comparator, value, early-warning band."""

    id: Id
    task: Text | None = Field(None, description="Evaluation task name; omit to match any task.")
    metric: Text = Field(
        description="Metric as evidence records it: 'accuracy', or 'scorer/accuracy' for Inspect."
    )
    comparator: Comparator = ">="
    threshold: float
    early_warning: float | None = Field(
        None, description="Start of the alert band on the safe side of the threshold."
    )
    description: Text | None = None

    @model_validator(mode="after")
    def _band_on_safe_side(self) -> Indicator:
        if self.early_warning is None:
            return self
        upward = self.comparator in (">=", ">")
        if (upward and self.early_warning > self.threshold) or (
            not upward and self.early_warning < self.threshold
        ):
            side = "below" if upward else "above"
            raise ValueError(
                f"early_warning must lie {side} the threshold for comparator "
                f"'{self.comparator}' (the band warns before the threshold is reached)"
            )
        return self


class RequiredSafeguard(_Strict):
    standard: Id
    force: Force = "binding"
    scope: Scope = "unilateral"
    note: Text | None = None


class Threshold(Element):
    domain: Id
    kind: ThresholdKind = "threshold"
    level: int = Field(ge=0, le=100, description="Ordinal level within the domain.")
    level_label: Text | None = Field(None, description="e.g. 'High', 'Critical', 'CCL'.")
    legacy_aliases: list[Text] = Field(
        default_factory=list, description="Earlier names, so a rename diffs as a rename."
    )
    indicators: list[Indicator] = Field(default_factory=list)
    required_safeguards: list[RequiredSafeguard] = Field(default_factory=list)
    response: Text | None = Field(None, description="What the framework says happens on crossing.")
    ambiguity_policy: AmbiguityPolicy | None = None


class Trigger(_Strict):
    when: TriggerOn = "always"
    thresholds: list[Id] = Field(default_factory=list)
    domains: list[Id] = Field(default_factory=list)
    safeguard_kinds: list[SafeguardKind] = Field(default_factory=list)


class Commitment(Element):
    kind: CommitmentKind
    force: Force
    scope: Scope = "unilateral"
    applies_to: list[Action] = Field(
        default_factory=list, description="Actions this commitment governs; empty for none."
    )
    trigger: Trigger = Field(default_factory=Trigger)
    condition: dict[str, Any] | None = Field(
        None,
        description="For conditional commitments: {fact: NAME} / {all: [...]} / {any: [...]} "
        "/ {not: {...}} over declared or built-in facts.",
    )
    outcome: Outcome | None = Field(
        None, description="For gates: what happens to the action when the commitment applies."
    )
    relaxes: list[Id] = Field(
        default_factory=list,
        description="For outcome relax_safeguards: commitments this one may set aside.",
    )

    @model_validator(mode="after")
    def _shape(self) -> Commitment:
        if self.force == "conditional" and self.condition is None:
            raise ValueError("a conditional commitment needs a 'condition'")
        if self.outcome is not None and not self.applies_to:
            raise ValueError("a commitment with an 'outcome' must say which actions it applies_to")
        if self.outcome == "relax_safeguards" and not self.relaxes:
            raise ValueError("outcome relax_safeguards needs 'relaxes': the commitments set aside")
        return self


class Cadence(Element):
    artifact: Id = Field(description="What recurs, e.g. capability_assessment, risk_report.")
    force: Force = "binding"
    interval: Duration | None = Field(None, description="Longest allowed gap, e.g. P6M.")
    min_interval: Duration | None = Field(None, description="Shortest gap, for a range (P3M).")
    compute_multiple: float | None = Field(
        None, gt=1, description="Effective-compute growth that also triggers it, e.g. 4."
    )
    deadline: Duration | None = Field(
        None, description="Time allowed to finish once triggered, e.g. P1M."
    )

    @model_validator(mode="after")
    def _has_a_clock(self) -> Cadence:
        if self.interval is None and self.compute_multiple is None and self.deadline is None:
            raise ValueError("a cadence needs an 'interval', a 'compute_multiple' or a 'deadline'")
        if self.interval and self.min_interval and self.min_interval > self.interval:
            raise ValueError("min_interval is longer than interval")
        return self


class GovernanceRole(Element):
    holder: Text | None = None
    responsibilities: list[Text] = Field(default_factory=list)


class RedLine(Element):
    waivable: bool = Field(False, description="False: no contract or overlay can waive it.")
    applies_to: Text | None = None


class ExternalReview(_Strict):
    trigger: Text
    reviewer_criteria: list[Text] = Field(default_factory=list)
    conflict_criteria: list[Text] = Field(default_factory=list)
    share_within: Duration | None = Field(None, description="Report to reviewer within, e.g. P7D.")
    commentary_within: Duration | None = Field(
        None, description="Public commentary requested within, e.g. P30D."
    )
    source: SourceRef


class ChangeNote(_Strict):
    """One change a version's own changelog announces, with the elements it concerns."""

    summary: Text
    elements: list[Id] = Field(
        default_factory=list,
        description="Ids of the elements (in this version, or removed from the previous one) "
        "the announcement covers; a diff marks changes to any other element unannounced.",
    )


class ChangelogEntry(_Strict):
    version: Version
    date: dt.date
    changes: list[ChangeNote | Text] = Field(default_factory=list)
    silent_changes: list[Text] = Field(
        default_factory=list, description="Changes made without announcement, per trackers."
    )
    source: SourceRef | None = None


class FrameworkDocument(_Strict):
    """One version of one safety framework."""

    schema_version: Literal[1] = Field(description="Document format version; currently 1.")
    framework: FrameworkMeta
    facts: list[FactDecl] = Field(default_factory=list)
    risk_domains: list[RiskDomain] = Field(default_factory=list)
    safeguard_standards: list[SafeguardStandard] = Field(default_factory=list)
    thresholds: list[Threshold] = Field(default_factory=list)
    commitments: list[Commitment] = Field(default_factory=list)
    cadences: list[Cadence] = Field(default_factory=list)
    governance_roles: list[GovernanceRole] = Field(default_factory=list)
    red_lines: list[RedLine] = Field(default_factory=list)
    external_review: ExternalReview | None = None
    changelog: list[ChangelogEntry] = Field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.framework.id}@{self.framework.version}"


CONDITION_JSON_SCHEMA: dict[str, Any] = {
    "description": "A condition over named facts.",
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "fact": {"type": "string"},
                "at_least": {"type": "number"},
                "above": {"type": "number"},
                "at_most": {"type": "number"},
                "below": {"type": "number"},
                "equals": {"type": "number"},
            },
            "required": ["fact"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"all": {"type": "array", "items": {"$ref": "#/$defs/Condition"}}},
            "required": ["all"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"any": {"type": "array", "items": {"$ref": "#/$defs/Condition"}}},
            "required": ["any"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"not": {"$ref": "#/$defs/Condition"}},
            "required": ["not"],
            "additionalProperties": False,
        },
    ],
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a framework document, for editors and other tools."""
    schema = FrameworkDocument.model_json_schema()
    defs = schema.setdefault("$defs", {})
    defs["Condition"] = CONDITION_JSON_SCHEMA
    condition = defs["Commitment"]["properties"]["condition"]
    condition.pop("anyOf", None)
    condition["anyOf"] = [{"$ref": "#/$defs/Condition"}, {"type": "null"}]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://scaleguard.dev/schema/framework-1.json"
    schema["title"] = "scaleguard framework document"
    return schema
