"""CLI start-up: whole commands as a user runs them, beside the interpreter's own start-up.

Each command is run as a fresh process (the console script), several times, in rounds that
run every command in turn; the median wall time is reported beside ``python -c pass`` measured
in the same rounds, the floor no command can beat. Commands that touch no workspace should
stay well under half a second. The package's bytecode is compiled first, as an installed
package has it (with ``PYTHONDONTWRITEBYTECODE`` set, a source tree would otherwise be
compiled again by every command).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _medians(commands: list[list[str]], repeat: int) -> list[float]:
    """Median wall time of each command, run ``repeat`` times in rounds that take every
    command in turn (a drift of the shared machine's speed then meets them all)."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for argv, found in zip(commands, times, strict=True):
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            found.append(time.perf_counter() - start)
    return [statistics.median(found) for found in times]


def run(*, quick: bool = False) -> str:
    repeat = 3 if quick else 15
    import compileall

    import scaleguard

    compileall.compile_dir(str(Path(scaleguard.__file__).parent), quiet=1)
    exe = shutil.which("scaleguard") or str(Path(sys.executable).with_name("scaleguard"))
    commands = [
        ("scaleguard --help", ["--help"]),
        ("scaleguard --version", ["--version"]),
        ("scaleguard frameworks list --json", ["frameworks", "list", "--json"]),
        (
            "scaleguard frameworks show anthropic-rsp@3.0 --json",
            ["frameworks", "show", "anthropic-rsp@3.0", "--json"],
        ),
    ]
    floor, *measured = _medians(
        [[sys.executable, "-c", "pass"], *([exe, *args] for _, args in commands)], repeat
    )
    rows = [
        f"| `{label}` | {t * 1000:.0f} ms | {t / floor:.1f}x |"
        for (label, _), t in zip(commands, measured, strict=True)
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join(
        [
            "## CLI start-up",
            "",
            f"Median of {repeat} fresh processes each, in rounds that run every command in turn; "
            f"load average {load:.1f} when it started.",
            "",
            "| command | wall time | × `python -c pass` |",
            "| --- | --- | --- |",
            f"| floor: `python -c pass` | {floor * 1000:.0f} ms | 1.0x |",
            *rows,
            "",
            "Sub-commands are imported only when they run (`cli/app.py`'s command table), so the",
            "overview and commands that need no workspace import neither SQLAlchemy, Inspect,",
            "NumPy nor WeasyPrint (`tests/test_cli_app.py` fails if they do).",
        ]
    )
