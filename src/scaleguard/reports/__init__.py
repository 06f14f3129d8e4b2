"""Risk Reports: drafted from the workspace, redacted, published in two editions.

Library entry points (the CLI and the web app call these):
:func:`draft`, :func:`redact`, :func:`submit`, :func:`publish`,
:func:`build` and :func:`render` (an edition's content, hash and bytes),
:func:`cadence` (is a report due?). The pure core is in
:mod:`~scaleguard.reports.assemble`, :mod:`~scaleguard.reports.redact`,
:mod:`~scaleguard.reports.cadence` and :mod:`~scaleguard.reports.render`.
The demo's part is :func:`scaleguard.demo.reports.add_to_demo`.
"""

from scaleguard.reports.model import (
    CATEGORIES,
    EDITIONS,
    FORMATS,
    EditionContent,
    Redaction,
    ReportContent,
)
from scaleguard.reports.service import (
    Built,
    Published,
    build,
    cadence,
    content_of,
    draft,
    publish,
    redact,
    render,
    resolve,
    submit,
)

__all__ = [
    "CATEGORIES",
    "EDITIONS",
    "FORMATS",
    "Built",
    "EditionContent",
    "Published",
    "Redaction",
    "ReportContent",
    "build",
    "cadence",
    "content_of",
    "draft",
    "publish",
    "redact",
    "render",
    "resolve",
    "submit",
]
