"""Evaluation results as validated evidence records, read without touching storage.

``read_artifact`` is the entry point: it reads one file (an Inspect ``.eval``
or ``.json`` log, an lm-evaluation-harness results file, or a results CSV),
hashes its bytes and returns every record in it, or raises
:class:`scaleguard.errors.EvidenceError` saying what is wrong. Storing the
records is the workspace's job. The Inspect hook lives in
:mod:`scaleguard.integrations.inspect_hook` and is not imported here, so importing
this package never registers it.
"""

from scaleguard.evidence.detect import FORMAT_CHOICES, detect_format, read_artifact
from scaleguard.evidence.records import (
    SOURCE_FORMATS,
    ArtifactEvidence,
    EvidenceRecord,
    RunMetadata,
    SourceFormat,
)

__all__ = [
    "FORMAT_CHOICES",
    "SOURCE_FORMATS",
    "ArtifactEvidence",
    "EvidenceRecord",
    "RunMetadata",
    "SourceFormat",
    "detect_format",
    "read_artifact",
]
