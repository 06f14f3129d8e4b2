"""History of a framework: diff every version against the one before, and render the page.

Measured on the built-in Anthropic RSP library (every public version, 1.0 onwards):
*compute* (load is excluded: the library is loaded once) diffs each step and keeps the
counts and top findings; *html* renders the self-contained page from that history.
"""

from __future__ import annotations

import statistics
import time


def _median_ms(fn: object, repeat: int) -> float:
    assert callable(fn)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(*, quick: bool = False) -> str:
    from scaleguard.diff.history import framework_history, library_versions
    from scaleguard.diff.history_html import history_html
    from scaleguard.diff.history_render import history_markdown
    from scaleguard.framework.library import Library

    repeat = 3 if quick else 20
    versions = library_versions(Library(), "anthropic-rsp")
    h = framework_history(versions)
    compute = _median_ms(lambda: framework_history(versions), repeat)
    markdown = _median_ms(lambda: history_markdown(h), repeat)
    html = _median_ms(lambda: history_html(h), repeat)
    return "\n".join(
        [
            "## Framework history",
            "",
            f"`anthropic-rsp`: {len(h.versions)} versions, {len(h.steps)} steps, "
            f"{sum(s.total for s in h.steps)} changes; median of {repeat} runs.",
            "",
            "| step | median |",
            "|---|---:|",
            f"| compute the history (diff every step) | {compute:.1f} ms |",
            f"| render Markdown | {markdown:.1f} ms |",
            f"| render HTML with the timeline chart | {html:.1f} ms |",
            "",
        ]
    )
