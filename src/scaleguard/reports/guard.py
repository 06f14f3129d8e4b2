"""The redaction guarantee, checked on the rendered public edition.

:func:`scaleguard.reports.redact.build_edition` already refuses a public
edition whose content still holds a redacted span; this module also renders
the edition (Markdown and HTML) and checks what a reader would see there,
including the fixed labels the templates add, so a span such as "Period"
cannot survive in a heading scaleguard writes. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from scaleguard.reports.model import Redaction, ReportContent
from scaleguard.reports.redact import RedactionError, build_edition, leaks
from scaleguard.reports.render import (
    dates_of,
    markdown_text,
    render_html,
    render_markdown,
    visible_text,
)


def check_public(
    content: ReportContent, report_id: int, content_sha256: str, redactions: Sequence[Redaction]
) -> None:
    """RedactionError if the rendered public edition would show a redacted span."""
    reds = list(redactions)
    edition = build_edition(content, report_id, reds, "public")
    dates = dates_of(edition, reds)
    shown = visible_text(render_html(edition, content_sha256, dates))
    shown += markdown_text(render_markdown(edition, content_sha256, dates))
    found = leaks(shown, reds)
    if found:
        r = found[0]
        raise RedactionError(
            f"the public edition would still show the text redacted by {r.label}: it also "
            "occurs in text scaleguard writes around the report (headings, labels, legends)",
            hint="choose a longer or more specific span, or withhold the whole section",
        )
