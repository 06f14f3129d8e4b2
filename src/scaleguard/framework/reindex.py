"""Rewrite ``framework/builtin/index.json`` after adding or editing a built-in document.

Run ``python -m scaleguard.framework.reindex`` from a source checkout; a test
fails while the index and the documents disagree.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from scaleguard.framework import library
from scaleguard.framework.library import INDEX_NAME, SUMMARY_FIELDS, summary_of, vocabulary_of
from scaleguard.framework.loader import load_bytes


def index_row(file: str, data: bytes) -> dict[str, Any]:
    """The index's line for one built-in file."""
    fw = load_bytes(data, f"builtin:{file}", builtin=True)
    words = vocabulary_of(fw)
    listed = summary_of(fw, builtin=True)
    return {
        "file": file,
        "id": fw.doc.framework.id,
        "version": fw.doc.framework.version,
        "sha256": hashlib.sha256(data).hexdigest(),
        "thresholds": sorted(words.thresholds),
        "facts": sorted(words.facts),
        "standards": sorted(words.standards),
        "summary": {k: listed[k] for k in SUMMARY_FIELDS},
    }


def write_index() -> Path:
    """Rewrite the shipped index from the documents themselves (after adding or editing one)."""
    folder = Path(str(library.builtin_folder()))
    rows = [index_row(path.name, path.read_bytes()) for path in sorted(folder.glob("*.yaml"))]
    target = folder / INDEX_NAME
    target.write_text(json.dumps({"frameworks": rows}, indent=2) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    print(f"wrote {write_index()}")
