"""PDF editions through WeasyPrint, byte-reproducible.

WeasyPrint writes the creation and modification dates only when the page
declares them, so the HTML carries ``dcterms.created`` / ``dcterms.modified``
set from the report's own dates (drafting, latest redaction), never the
clock. It adds no random document id unless asked for PDF/X-4 (not used
here), and the file identifier is left out. The PDF is tagged (structure for
screen readers), which is deterministic too. Fonts come from the system
(DejaVu is named first); the same fonts and WeasyPrint version give the same
bytes, which the tests check by rendering twice. Where WeasyPrint subsets
fonts with fontTools (no HarfBuzz-Subset on the system), fontTools stamps each
embedded font with the current time unless ``SOURCE_DATE_EPOCH`` is set, so it
is pinned for the duration of the rendering.
"""

from __future__ import annotations

import logging
import os

from scaleguard.errors import StoreError


def html_to_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML page (no base URL: nothing is fetched)."""
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # pragma: no cover - depends on system libraries
        raise StoreError(
            f"PDF output needs WeasyPrint and its system libraries (pango): {exc}",
            hint="install them, or publish --format html or markdown",
        ) from None
    # WeasyPrint logs every unsupported CSS property at WARNING; keep the CLI quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pinned = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = pinned or "0"
    try:
        data = HTML(string=html, base_url=None).write_pdf(pdf_identifier=False, pdf_tags=True)
    finally:
        if pinned is None:
            del os.environ["SOURCE_DATE_EPOCH"]
    assert isinstance(data, bytes)
    return data
