"""A Risk Report's content as typed data: sections with stable ids, made of blocks.

The content is assembled once, when a report is drafted, and stored as JSON
with the report record; every edition (reviewer or public, in any format) is
rendered from it. Section ids are stable across reports: they are built from
fixed names and the framework's threshold ids (``capabilities.novel-cb``), so
a redaction, a reviewer's comment or a reader can point at the same place
in every edition.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTENT_VERSION: Literal[1] = 1

Category = Literal["legal", "privacy", "security", "commercial"]
CATEGORIES: tuple[Category, ...] = ("legal", "privacy", "security", "commercial")
Edition = Literal["reviewer", "public"]
EDITIONS: tuple[Edition, ...] = ("reviewer", "public")
Format = Literal["markdown", "html", "pdf"]
FORMATS: tuple[Format, ...] = ("markdown", "html", "pdf")
EXTENSIONS: dict[Format, str] = {"markdown": "md", "html": "html", "pdf": "pdf"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Paragraph(_Frozen):
    kind: Literal["paragraph"] = "paragraph"
    text: str


class BulletList(_Frozen):
    kind: Literal["list"] = "list"
    items: tuple[str, ...]


class Table(_Frozen):
    kind: Literal["table"] = "table"
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


class ChartPoint(_Frozen):
    """One model generation on a chart: its estimate and interval, or no data."""

    label: str
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    state: str = "missing"
    covered: bool = False


class Chart(_Frozen):
    """An indicator of one threshold across model generations, drawn as inline SVG."""

    kind: Literal["chart"] = "chart"
    id: str
    title: str
    description: str
    y_label: str
    comparator: str
    threshold: float
    early_warning: float | None = None
    points: tuple[ChartPoint, ...]


class Redacted(_Frozen):
    """What the public edition shows in place of withheld content."""

    kind: Literal["redacted"] = "redacted"
    marker: str


Block = Annotated[Paragraph | BulletList | Table | Chart | Redacted, Field(discriminator="kind")]


class Section(_Frozen):
    id: str
    title: str
    blocks: tuple[Block, ...] = ()
    sections: tuple[Section, ...] = ()

    def walk(self) -> Iterator[Section]:
        """This section and every section below it, in reading order."""
        yield self
        for child in self.sections:
            yield from child.walk()


class ReportMeta(_Frozen):
    """What the report is about; shown in every edition's header."""

    title: str
    developer: str
    period: str
    period_start: date
    period_end: date
    coverage_date: date
    drafted_on: date
    framework_ref: str
    framework_title: str
    models: tuple[str, ...]


class ReportContent(_Frozen):
    version: Literal[1] = CONTENT_VERSION
    meta: ReportMeta
    sections: tuple[Section, ...]

    def walk(self) -> Iterator[Section]:
        for section in self.sections:
            yield from section.walk()

    def section_ids(self) -> list[str]:
        return [s.id for s in self.walk()]

    def find(self, section_id: str) -> Section | None:
        return next((s for s in self.walk() if s.id == section_id), None)


class Redaction(_Frozen):
    """A recorded redaction, numbered R1, R2, ... within its report in recording order."""

    number: int = Field(ge=1)
    section: str
    span: str | None = None
    category: Category
    justification: str
    by: str
    record_id: int = 0
    on: date | None = None

    @property
    def label(self) -> str:
        return f"R{self.number}"


class RedactionNotice(_Frozen):
    """One line of an edition's list of redactions.

    The public edition lists every redaction's existence, place, category and
    justification; the reviewer edition also shows the withheld span and who
    decided.
    """

    label: str
    section: str
    section_title: str
    scope: Literal["section", "span"]
    category: Category
    justification: str
    span: str | None = None
    by: str | None = None
    places: tuple[str, ...] = ()


class EditionContent(_Frozen):
    """Exactly what one edition shows; its canonical JSON hash is the edition's hash."""

    edition: Edition
    report_id: int
    content: ReportContent
    redactions: tuple[RedactionNotice, ...]
