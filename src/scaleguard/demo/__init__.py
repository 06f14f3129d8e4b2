"""``make run``: the main job on a fresh demo workspace (embedded SQLite).

1. The semantic diff of the Responsible Scaling Policy, v2.2 → v3.0.
2. A fictional lab's workspace: model generations, released competitor models,
   evidence written by Inspect's own log writer plus lm-eval and CSV results,
   safeguard attestations.
3. The scaling decision for its newest model under RSP 3.0, with the
   counterfactual under RSP 2.2. The model crosses the chemical and biological
   thresholds but not automated R&D, so it is not "highly capable" (RSP 3.0
   §3.6) and no Appendix A delay applies, whatever competitors do; RSP 2.2
   pauses training until ASL-4 security is in place.

The demo folder is recreated on every run; a folder of the same name that is
not a scaleguard demo is never deleted.
"""

from __future__ import annotations

import json
import shutil
import sys
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from rich.console import Console

from scaleguard.cli import render_decisions
from scaleguard.diff import diff_frameworks, render_rich
from scaleguard.errors import ScaleguardError, WorkspaceError
from scaleguard.framework.library import Library

DEMO_NAME = "Fictional Frontier Lab (demo)"
CONFIG_EXTRA = """
[frameworks]
default = "anthropic-rsp@3.0"

[determinations]
resamples = 2000
confidence = 0.95
seed = 7

# The lab's own evaluations, mapped to thresholds of every RSP version it uses.
[[indicators]]
id = "bio-basic-uplift"
thresholds = ["non-novel-cb", "cbrn-3"]
framework = "anthropic-rsp"
task = "bio_basic_uplift"
metric = "accuracy"
threshold = 0.6
early_warning = 0.5

[[indicators]]
id = "bio-novel-design"
thresholds = ["novel-cb", "cbrn-4"]
framework = "anthropic-rsp"
task = "bio_novel_design"
metric = "accuracy"
threshold = 0.7
early_warning = 0.6

[[indicators]]
id = "ml-research-tasks"
thresholds = ["automated-rd", "ai-rd-4", "ai-rd-5"]
framework = "anthropic-rsp"
task = "ml_research_tasks"
metric = "accuracy"
threshold = 0.8
early_warning = 0.65

[[indicators]]
id = "covert-sabotage"
thresholds = ["high-stakes-sabotage"]
framework = "anthropic-rsp"
task = "covert_sabotage"
metric = "acc"
threshold = 0.5
early_warning = 0.4

[[indicators]]
id = "swe-long-tasks"
thresholds = ["autonomy-checkpoint"]
framework = "anthropic-rsp"
metric = "pass_rate"
threshold = 0.5
"""

MODELS_YAML = """\
models:
  - name: aurora-1
    developer: Fictional Frontier Lab
    own: true
    effective_compute: 1.0e25
    status: released
    released_on: 2025-09-01
    scores: {chem-bio: 0.41, cbrn: 0.41, automated-rd: 0.31, autonomous-ai-rd: 0.31}
    score_source: https://lab.example/evals/aurora-1
  - name: aurora-2
    developer: Fictional Frontier Lab
    own: true
    parent: aurora-1
    effective_compute: 4.2e25
    status: released
    released_on: 2026-03-02
    scores: {chem-bio: 0.63, cbrn: 0.63, automated-rd: 0.52, autonomous-ai-rd: 0.52}
    score_source: https://lab.example/evals/aurora-2
  - name: aurora-3
    developer: Fictional Frontier Lab
    own: true
    parent: aurora-2
    effective_compute: 1.7e26
    status: training
    scores: {chem-bio: 0.82, cbrn: 0.82, automated-rd: 0.61, autonomous-ai-rd: 0.61}
    score_source: https://lab.example/evals/aurora-3
  - name: rival-9
    developer: Rival AI
    status: released
    released_on: 2026-06-15
    safeguards_level: weak
    scores: {chem-bio: 0.85, cbrn: 0.85, automated-rd: 0.66, autonomous-ai-rd: 0.66}
    score_source: https://rival.example/model-card
    sources: [https://rival.example/model-card]
  - name: steady-4
    developer: Other Co
    status: released
    released_on: 2026-04-20
    safeguards_level: strong
    scores: {chem-bio: 0.55, cbrn: 0.55, automated-rd: 0.40, autonomous-ai-rd: 0.40}
    score_source: https://other.example/system-card
"""

LMEVAL = {
    "results": {
        "covert_sabotage": {
            "alias": "covert_sabotage",
            "acc,none": 0.18,
            "acc_stderr,none": 0.019,
        }
    },
    "n-samples": {"covert_sabotage": {"original": 400, "effective": 400}},
    "n-shot": {"covert_sabotage": 0},
    "configs": {"covert_sabotage": {"task": "covert_sabotage"}},
    "versions": {"covert_sabotage": 1},
    "model_name": "fictional/aurora-3",
    "config": {"model": "hf", "model_args": "pretrained=fictional/aurora-3"},
}

CSV = """model,task,metric,value,sample_count,source
aurora-3,swe_long_tasks,pass_rate,0.31,120,https://lab.example/evals/swe-long
"""


def _scores(rate: float, n: int) -> list[float]:
    """A deterministic 0/1 pattern with the given success rate (no randomness in the demo)."""
    hits = round(rate * n)
    return [1.0 if (i * 7919) % n < hits else 0.0 for i in range(n)]


#: The demo's Inspect logs, by file name, once written in this process: writing them
#: through Inspect is most of the demo's set-up time, and their content never changes.
_LOG_BYTES: dict[str, bytes] = {}


def _write_logs(folder: Path) -> list[Path]:
    from inspect_ai.log import write_eval_log

    from scaleguard.evidence.synthetic import make_eval_log

    plan = [
        (
            "aurora-1",
            "2025-08-20",
            {"bio_basic_uplift": 0.38, "bio_novel_design": 0.22, "ml_research_tasks": 0.31},
        ),
        (
            "aurora-2",
            "2026-02-10",
            {"bio_basic_uplift": 0.66, "bio_novel_design": 0.47, "ml_research_tasks": 0.52},
        ),
        (
            "aurora-3",
            "2026-10-30",
            {"bio_basic_uplift": 0.88, "bio_novel_design": 0.81, "ml_research_tasks": 0.61},
        ),
    ]
    paths = []
    for model, day, tasks in plan:
        for task, rate in tasks.items():
            path = folder / f"{day}_{task}_{model}.eval"
            if path.name in _LOG_BYTES:
                path.write_bytes(_LOG_BYTES[path.name])
            else:
                scores = _scores(rate, 200)
                created = f"{day}T09:00:00+00:00"
                log = make_eval_log(task, f"fictional/{model}", scores, created=created)
                write_eval_log(log, str(path), format="eval")
                _LOG_BYTES[path.name] = path.read_bytes()
            paths.append(path)
    return paths


def prepare(root: Path, db_url: str | None = None) -> None:
    """Create the demo workspace at ``root`` (removing a previous demo there)."""
    from scaleguard.workspace import attest, import_models, ingest_paths, init_workspace
    from scaleguard.workspace.config import CONFIG_NAME

    if root.exists():
        config = root / CONFIG_NAME
        if not config.is_file() or DEMO_NAME not in config.read_text(errors="replace"):
            raise WorkspaceError(
                f"{root} exists and is not a scaleguard demo workspace",
                hint="move it away or run the demo from another folder",
            )
        shutil.rmtree(root)
    ws = init_workspace(root, name=DEMO_NAME, db_url=db_url)
    ws.close()
    with (root / CONFIG_NAME).open("a") as fh:
        fh.write(CONFIG_EXTRA)

    from scaleguard.workspace import open_workspace

    ws = open_workspace(root)
    try:
        incoming = root / "incoming"
        incoming.mkdir()
        (incoming / "models.yaml").write_text(MODELS_YAML)
        import_models(ws, incoming / "models.yaml", by="demo")
        files = _write_logs(incoming)
        (incoming / "covert_sabotage.json").write_text(json.dumps(LMEVAL, indent=2))
        (incoming / "swe_long.csv").write_text(CSV)
        files += [incoming / "covert_sabotage.json", incoming / "swe_long.csv"]
        ingest_paths(ws, files, by="eval-team")
        for standard in ("asl-3-deployment", "asl-3-security"):
            for model in ("aurora-2", "aurora-3"):
                attest(
                    ws,
                    model,
                    standard,
                    by="rso",
                    evidence_url=f"https://lab.example/safeguards/{standard}",
                )
    finally:
        ws.close()


def demo_roadmap_file() -> Traversable:
    """The roadmap of the demo's fictional lab, shipped beside this module (``roadmap.yaml``)."""
    return resources.files(__name__).joinpath("roadmap.yaml")


def _show_roadmap(console: Console, ws: object, root: Path) -> None:
    """Import the fictional lab's roadmap, grade it, and publish the public HTML card."""
    import datetime as dt

    from scaleguard.roadmap import import_file, load_roadmap, report_card
    from scaleguard.roadmap.html import card_html
    from scaleguard.roadmap.render import print_card
    from scaleguard.workspace.files import atomic_write
    from scaleguard.workspace.workspace import Workspace

    assert isinstance(ws, Workspace)
    source = root / "incoming" / "roadmap.yaml"
    source.write_bytes(demo_roadmap_file().read_bytes())
    import_file(ws, source, by="rso")
    as_of = dt.datetime.now(dt.UTC).date()
    card = report_card(load_roadmap(ws), as_of)
    title = "Fictional Frontier Lab: Frontier Safety Roadmap"
    print_card(console, card, title=title)
    page = root / "roadmap.html"
    atomic_write(page, card_html(card, title=title).encode("utf-8"))
    console.print(f"public report card (self-contained HTML with an accessible chart): {page}")


def _show_ledger(console: Console, ws: object) -> None:
    """Sign a checkpoint, verify the whole ledger from the entry bytes up, and show both."""
    from scaleguard.store.ledger import tree as ledger_tree
    from scaleguard.workspace.workspace import Workspace

    assert isinstance(ws, Workspace)
    ws.checkpoint()
    report = ws.verify_ledger(full=True)
    with ws.store.read() as s:
        latest = ledger_tree.latest_checkpoint(s)
    assert latest is not None
    verdict = "[bold green]verified[/]" if report.ok else "[bold red]DISCREPANCY[/]"
    console.print(
        f"Every record above is an entry in a Merkle tree (RFC 9162): {latest.size} entries, "
        f"{verdict} from the entry bytes up. The signed checkpoint (C2SP signed note):"
    )
    console.print(latest.note.decode("utf-8"), markup=False, highlight=False)
    console.print(
        "A reviewer holding this checkpoint and the key in keys/ledger.vkey can check any "
        "entry offline: 'scaleguard ledger prove N --receipt r.txt', then "
        "'scaleguard ledger verify-receipt r.txt --key keys/ledger.vkey'."
    )


def _show_history(console: Console, lib: Library, root: Path) -> None:
    """Every public version of the RSP, what each step changed, and the page that shows it."""
    from scaleguard.diff.history import framework_history, library_versions
    from scaleguard.diff.history_html import history_html
    from scaleguard.workspace.files import atomic_write

    h = framework_history(library_versions(lib, "anthropic-rsp"), top=1)
    for step in h.steps:
        c = step.counts
        console.print(
            f"{step.label} ({step.old.effective_date} → {step.new.effective_date}): "
            f"{c['weakening']} weakening, {c['unclear']} unclear, "
            f"{c['strengthening']} strengthening, {c['unannounced']} unannounced",
            markup=False,
            highlight=False,
        )
    page = root / "rsp-history.html"
    atomic_write(page, history_html(h).encode("utf-8"))
    console.print(f"the whole history as one page with an accessible timeline: {page}")


def _show_incidents(console: Console, ws: object) -> None:
    """An incident's clocks under SB 53, RAISE and the EU Code; a staff report to the board."""
    from scaleguard.demo.incidents import add_to_demo
    from scaleguard.workspace.workspace import Workspace

    assert isinstance(ws, Workspace)
    console.rule("An incident and its legal clocks; a noncompliance report to the board")
    add_to_demo(ws, console)


def _show_users(console: Console, ws: object) -> None:
    """One demo user per role, with a documented password (demo workspace only)."""
    from scaleguard.demo.web_users import add_demo_users
    from scaleguard.workspace.workspace import Workspace

    assert isinstance(ws, Workspace)
    for name, role, password in add_demo_users(ws):
        console.print(f"{role:<10} {name!r:<16} password {password}", markup=False)
    console.print(
        "Jonas Weber was refused for a conflict of interest: the reviewers' portal shows him "
        "no report, and /review/1 answers 404. 'make run' serves this workspace next.",
        markup=False,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path("demo-workspace")
    console = Console()
    try:
        lib = Library()
        console.rule("1. What changed from RSP 2.2 to RSP 3.0")
        result = diff_frameworks(lib.get("anthropic-rsp@2.2"), lib.get("anthropic-rsp@3.0"))
        render_rich(result, console, top=12)

        console.rule("2. A fictional lab's workspace")
        prepare(root)
        from scaleguard.decisions import service
        from scaleguard.workspace import open_workspace

        ws = open_workspace(root)
        try:
            console.print(
                f"workspace {root}: 5 models (3 own generations, 2 released competitor models), "
                "evidence from Inspect logs, lm-eval and CSV, ASL-3 attestations"
            )
            fw, rows = service.determine(ws, "aurora-3", by="demo")
            render_decisions.determinations(console, fw.ref, "aurora-3", rows)

            console.rule("3. May the lab keep training aurora-3?")
            console.print(
                "aurora-3 crosses the chemical and biological thresholds but not automated R&D: "
                "under RSP 3.0 it is not highly capable (§3.6), so neither Appendix A delay "
                "applies, whatever its competitors have released or are developing."
            )
            decision = service.decide(
                ws, "aurora-3", "train", compare="anthropic-rsp@2.2", by="demo"
            )
            render_decisions.decision(console, decision.decision, decision.decision_id)
            assert decision.comparison is not None
            console.rule("Counterfactual: the same facts under RSP 2.2")
            render_decisions.decision(console, decision.comparison, decision.comparison_id)
            render_decisions.comparison(console, decision.decision, decision.comparison)
            console.rule("4. The Frontier Safety Roadmap report card")
            _show_roadmap(console, ws, root)

            console.rule("5. A Risk Report, redacted for the public, and its external review")
            from scaleguard.demo.reports import add_to_demo

            add_to_demo(ws, console)
            _show_incidents(console, ws)

            console.rule("Usage-policy red lines, enforced at run time")
            from scaleguard.demo.usage import add_to_demo as usage_act

            usage_act(ws, console)

            console.rule("6. Can an outside reviewer trust this record?")
            _show_ledger(console, ws)
        finally:
            ws.close()
        console.rule("7. Every public version of the RSP, step by step")
        _show_history(console, lib, root)
        console.rule("8. Demo sign-ins for the web UI ('scaleguard serve')")
        ws = open_workspace(root)
        try:
            _show_users(console, ws)
        finally:
            ws.close()
        console.print(
            f"\nExplore it: [bold]cd {root}[/] and try 'scaleguard decisions list', "
            "'scaleguard decide aurora-3 --action deploy-external', "
            "'scaleguard models list'."
        )
    except ScaleguardError as exc:
        Console(stderr=True).print(f"error: {exc.render()}", markup=False)
        return 2
    return 0
