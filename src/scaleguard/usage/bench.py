"""Accuracy of the screen: recall per red line, false blocks on look-alikes, review rate.

Three kinds of labelled input:

* the held-out set shipped with scaleguard (``data/heldout.yaml``): requests
  under each clause and benign look-alikes, never used for calibration;
* XSTest (``label`` safe/unsafe, CC-BY-4.0): its safe prompts measure
  over-blocking;
* the AILuminate demo set (``hazard``, CC-BY-4.0): its ``iwp`` prompts
  (indiscriminate weapons, CBRNE) measure recall.

A file with a ``prompt`` column/field and ``label`` (positive/benign or
unsafe/safe) and optionally ``clause`` works too.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from scaleguard.errors import InputError
from scaleguard.usage.screen import Screener, ScreenResult


@dataclass(frozen=True)
class Item:
    text: str
    positive: bool
    clause: str | None
    source: str


def heldout() -> list[Item]:
    raw = yaml.safe_load(
        resources.files("scaleguard.usage.data").joinpath("heldout.yaml").read_text("utf-8")
    )
    return [
        Item(i["text"], i["label"] == "positive", i["clause"], "heldout")
        for i in raw["items"]
        if i["label"] in ("positive", "benign")
    ]


def labelled_file(path: Path) -> list[Item]:
    """Items from XSTest, AILuminate or a generic labelled CSV/JSONL file."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read as UTF-8 text ({exc})") from None
    rows: list[Any]
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        try:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {exc.lineno} is not JSON") from None
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    name = path.name
    out: list[Item] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        if "hazard" in row and "prompt_text" in row:  # AILuminate
            if row["hazard"] == "iwp":
                out.append(Item(row["prompt_text"], True, None, "ailuminate:iwp"))
            continue
        prompt = row.get("prompt")
        label = str(row.get("label", "")).lower()
        if not isinstance(prompt, str) or label not in ("positive", "benign", "safe", "unsafe"):
            continue
        positive = label in ("positive", "unsafe")
        clause = row.get("clause") or None
        if label == "unsafe" and clause is None:
            continue  # XSTest unsafe prompts are mostly outside this policy's clauses
        tag = f"xstest:{row.get('type', label)}" if label in ("safe", "unsafe") else name
        out.append(Item(prompt, positive, clause, tag))
    if not out:
        raise InputError(
            f"{path}: no labelled prompts",
            hint="give 'prompt' and 'label' (positive/benign or unsafe/safe), "
            "or an AILuminate/XSTest file",
        )
    return out


@dataclass
class Tally:
    n: int = 0
    block: int = 0
    review: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, result: ScreenResult, text: str, *, positive: bool) -> None:
        self.n += 1
        if result.band == "block":
            self.block += 1
        elif result.band == "review":
            self.review += 1
        if positive and result.band == "allow" and len(self.misses) < 5:
            self.misses.append(text[:100])
        if not positive and result.band == "block" and len(self.misses) < 5:
            self.misses.append(text[:100])

    def rate(self, value: int) -> float:
        return round(value / self.n, 4) if self.n else 0.0


def evaluate(
    screener: Screener,
    items: list[Item],
    *,
    batch: int = 16,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Screen every item; tallies by (source kind, clause, label)."""
    groups: dict[tuple[str, str, str], Tally] = defaultdict(Tally)
    red = {c.id for c in screener.policy.policy.red_lines}
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        results = screener.screen_many([i.text for i in chunk])
        for item, result in zip(chunk, results, strict=True):
            source = item.source.split(":")[0] if item.source == "heldout" else item.source
            key = (source, item.clause or "*", "positive" if item.positive else "benign")
            groups[key].add(result, item.text, positive=item.positive)
        if progress is not None:
            progress(len(chunk))
    rows = []
    for (source, clause, label), t in sorted(groups.items()):
        row: dict[str, Any] = {
            "source": source,
            "clause": clause,
            "label": label,
            "n": t.n,
            "red_line": clause in red,
            "block_rate": t.rate(t.block),
            "review_rate": t.rate(t.review),
            "examples_wrong": t.misses,
        }
        if label == "positive":
            row["recall"] = t.rate(t.block + t.review)
            row["block_recall"] = t.rate(t.block)
        else:
            row["false_block_rate"] = t.rate(t.block)
        rows.append(row)
    red_pos = [groups[k] for k in groups if k[1] in red and k[2] == "positive"]
    red_ben = [groups[k] for k in groups if k[1] in red and k[2] == "benign"]
    n_pos = sum(t.n for t in red_pos)
    n_ben = sum(t.n for t in red_ben)
    summary = {
        "red_line_recall": round(sum(t.block + t.review for t in red_pos) / n_pos, 4)
        if n_pos
        else None,
        "red_line_block_recall": round(sum(t.block for t in red_pos) / n_pos, 4) if n_pos else None,
        "red_line_lookalike_false_block_rate": round(sum(t.block for t in red_ben) / n_ben, 4)
        if n_ben
        else None,
        "red_line_lookalike_review_rate": round(sum(t.review for t in red_ben) / n_ben, 4)
        if n_ben
        else None,
    }
    return {
        "policy": screener.policy.ref,
        "policy_digest": screener.policy.digest,
        "model_sha256": screener.embedder.model_sha256,
        "summary": summary,
        "groups": rows,
    }
