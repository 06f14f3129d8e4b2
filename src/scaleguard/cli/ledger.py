"""Ledger and key commands: ``scaleguard ledger ...`` and ``scaleguard keys ...``.

Thin shells over :mod:`scaleguard.store.ledger.tree` and
:mod:`scaleguard.store.ledger.verify`. Verification failures exit 1 and say where
the ledger stops adding up; bad input exits 2 through the CLI's error
boundary. ``verify-receipt`` and ``verify-attestation`` need no workspace,
only the log's public key, so a reviewer can run them anywhere.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from scaleguard.cli.common import JSON_OPTION, WORKSPACE_OPTION, output_option
from scaleguard.cli.output import print_json
from scaleguard.errors import InputError, LedgerError, LedgerIntegrityError
from scaleguard.ledger.attest import verify_attestation
from scaleguard.ledger.keys import parse_vkey
from scaleguard.ledger.note import NoteVerifier, b64encode
from scaleguard.ledger.receipt import MAX_RECEIPT_BYTES, verify_receipt
from scaleguard.ledger.recheck import read_entry
from scaleguard.store import repo
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.store.ledger.verify import Discrepancy, check_receipt, describe, order
from scaleguard.workspace import Workspace, open_workspace
from scaleguard.workspace.files import atomic_write

KEY_HELP = "The log's public key: a .vkey file, or the vkey text itself."
EXIT_FAILED = 1

ledger_app = typer.Typer(
    help="The tamper-evident ledger: entries, signed checkpoints, proofs, verification.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="The workspace's ledger signing key (Ed25519).", no_args_is_help=True)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def _workspace(path: Path | None) -> Iterator[Workspace]:
    ws = open_workspace(path)
    try:
        yield ws
    finally:
        ws.close()


def _read(path: Path, what: str, limit: int = MAX_RECEIPT_BYTES) -> bytes:
    try:
        if path.stat().st_size > limit:
            raise InputError(f"{what} {path} is larger than {limit} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def read_key(value: str) -> NoteVerifier:
    """A verifier from a .vkey file, or from vkey text given directly."""
    path = Path(value).expanduser()
    if path.is_file():
        text = _read(path, "key file", 4096).decode("utf-8", "replace")
        try:
            return parse_vkey(text.strip())
        except LedgerError as exc:
            raise InputError(f"{path}: {exc.message}", hint=exc.hint) from None
    if "+" in value and not path.exists():
        try:
            return parse_vkey(value)
        except LedgerError as exc:
            raise InputError(exc.message, hint=exc.hint) from None
    raise InputError(
        f"key file {value} does not exist",
        hint="pass the log's .vkey file (from 'scaleguard keys show --vkey')",
    )


def _covering(ws: Workspace, size: int) -> ledger_tree.StoredCheckpoint:
    """The latest checkpoint, which must cover ``size`` entries.

    With the key here, the signer's own latest checkpoint (after checking the
    database still extends it); without, the newest one stored.
    """
    with ws.store.read() as s:
        have = ledger_tree.ledger_size(s)
    if size > have:
        raise InputError(
            f"the ledger has {have} entries; {size} were asked for",
            hint=f"entries are numbered 0..{have - 1}",
        )
    if ws.has_ledger_key():
        latest = ws.checkpoint().checkpoint
    else:
        with ws.store.read() as s:
            latest = ledger_tree.require_checkpoint(s)
    if latest.size < size:
        raise LedgerIntegrityError(
            f"the latest signed checkpoint covers {latest.size} entries, not {size}: "
            f"entries {latest.size}.. were written without the key",
            hint="run 'scaleguard ledger verify --full'",
        )
    return latest


def _b64_lines(hashes: list[bytes]) -> list[str]:
    return [b64encode(h) for h in hashes]


# -- ledger log / checkpoint ------------------------------------------------------


@ledger_app.command("log")
def ledger_log(
    since: int = typer.Option(0, "--since", min=0, help="First entry index to show."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Show at most this many."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """List ledger entries: index, kind, subject, time and leaf hash."""
    with _workspace(workspace) as ws, ws.store.read() as s:
        stop = None if limit is None else since + limit
        rows = repo.ledger_entries(s, since, stop)
    if json_out:
        print_json(
            [
                {
                    "index": r.idx,
                    "kind": r.kind,
                    "subject": r.subject,
                    "time": r.created_at,
                    "leaf_hash": r.leaf_hash.hex(),
                }
                for r in rows
            ]
        )
        return
    table = Table(title="Ledger", title_justify="left")
    for column in ("index", "kind", "subject", "time", "hash"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(str(r.idx), r.kind, r.subject, r.created_at, r.leaf_hash.hex()[:16])
    Console().print(table)


@ledger_app.command("checkpoint")
def ledger_checkpoint(
    out: Path | None = output_option("Also write the signed note here."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Print the latest signed checkpoint (a C2SP signed note).

    When the ledger grew since, a new checkpoint is signed first (this needs
    the workspace key); a ledger inconsistent with its last checkpoint is
    never signed.
    """
    with _workspace(workspace) as ws:
        signed_now = False
        if ws.has_ledger_key():
            result = ws.checkpoint()
            latest, signed_now = result.checkpoint, result.signed
        else:
            with ws.store.read() as s:
                latest = ledger_tree.require_checkpoint(s)
                size = ledger_tree.ledger_size(s)
            if size > latest.size:
                _err().print(
                    f"warning: {size - latest.size} newer entries are not covered by any "
                    "checkpoint: they were written without the key"
                )
    if out is not None:
        atomic_write(out, latest.note)
    if json_out:
        print_json({**describe(latest), "signed_now": signed_now})
        return
    typer.echo(latest.note.decode("utf-8"), nl=False)


# -- proofs -----------------------------------------------------------------------


@ledger_app.command("prove")
def ledger_prove(
    index: int = typer.Argument(..., min=0, help="Ledger entry index."),
    receipt: Path | None = typer.Option(
        None, "--receipt", help="Write an offline receipt (c2sp.org/tlog-proof) to this file."
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Inclusion proof of an entry in the latest checkpoint; optionally an offline receipt."""
    with _workspace(workspace) as ws:
        with ws.store.read() as s:
            data, leaf = ledger_tree.entry(s, index)
        cp = _covering(ws, index + 1)
        with ws.store.read() as s:
            body = ledger_tree.receipt(s, index, cp)
            proof = ledger_tree.prove_inclusion(s, index, cp.size)
    if receipt is not None:
        atomic_write(receipt, body)
    kind, moment, _ = read_entry(data)
    info = {
        "index": index,
        "kind": kind,
        "time": moment,
        "leaf_hash": leaf.hex(),
        "tree_size": cp.size,
        "root": b64encode(cp.root),
        "proof": _b64_lines(proof),
        "receipt": None if receipt is None else str(receipt),
    }
    if json_out:
        print_json(info)
        return
    typer.echo(f"entry {index} ({kind}, {moment}) is in the checkpoint of size {cp.size}")
    typer.echo(f"leaf hash  {leaf.hex()}")
    typer.echo(f"root       {b64encode(cp.root)}")
    for n, h in enumerate(_b64_lines(proof), start=1):
        typer.echo(f"proof #{n:<3} {h}")
    if receipt is not None:
        typer.echo(f"receipt written to {receipt}")


@ledger_app.command("consistency")
def ledger_consistency(
    old_size: int = typer.Argument(..., min=0, help="Tree size of the older checkpoint."),
    out: Path | None = output_option(
        "Write the proof with the new signed checkpoint to this file."
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Consistency proof from an older tree size to the latest checkpoint.

    The --out file ('old N', proof hashes, blank line, signed checkpoint) is
    what 'verify-receipt --consistency' takes.
    """
    with _workspace(workspace) as ws:
        cp = _covering(ws, old_size)
        with ws.store.read() as s:
            bundle = ledger_tree.consistency_bundle(s, old_size, cp)
            proof = ledger_tree.prove_consistency(s, old_size, cp.size)
            old_root = ledger_tree.root_at(s, old_size)
    if out is not None:
        atomic_write(out, bundle)
    info = {
        "old_size": old_size,
        "old_root": b64encode(old_root),
        "new_size": cp.size,
        "new_root": b64encode(cp.root),
        "proof": _b64_lines(proof),
    }
    if json_out:
        print_json(info)
        return
    typer.echo(f"size {old_size} -> {cp.size}")
    typer.echo(f"old root {info['old_root']}")
    typer.echo(f"new root {info['new_root']}")
    for n, h in enumerate(_b64_lines(proof), start=1):
        typer.echo(f"proof #{n:<3} {h}")


# -- verification ---------------------------------------------------------------------


def _fail(findings: list[Discrepancy], total: int | None = None) -> None:
    err = _err()
    first = findings[0]
    where = "" if first.index is None else f" at entry {first.index}"
    err.print(f"[bold red]ledger verification FAILED[/]{where}: {first.render()}")
    for d in findings[1:20]:
        err.print(f"  {d.render()}", markup=False)
    shown = min(len(findings), 20)
    if (total or len(findings)) > shown:
        err.print(f"  ... and {(total or len(findings)) - shown} more")
    raise typer.Exit(EXIT_FAILED)


@ledger_app.command("verify")
def ledger_verify(
    full: bool = typer.Option(
        False,
        "--full",
        help="Recompute everything from the entry bytes up, and hash every evidence file (slower).",
    ),
    key: str | None = typer.Option(
        None,
        "--key",
        help=KEY_HELP + " Default: the workspace's own key (with a warning: whoever can "
        "change the workspace could have replaced it).",
    ),
    receipts: list[Path] = typer.Option(
        [], "--receipt", help="A receipt held from earlier; the log must still match it (repeat)."
    ),
    against: list[Path] = typer.Option(
        [],
        "--against",
        help="A signed checkpoint published earlier ('ledger checkpoint --out'); the log must "
        "still contain it and have grown from it (repeat).",
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Processes that share a --full check (default: one per CPU; 1 checks in this "
        "process). The report is the same for any number.",
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Check the ledger; exit 1 naming the first bad entry if anything does not add up.

    Without --full: every checkpoint's signature, root and consistency, that the
    checkpoints start at the signed empty tree and cover every entry, no gaps,
    and the newest entries and their record rows. With --full: every entry,
    every stored hash, every checkpoint, every record row and evidence file.
    """
    given = read_key(key) if key is not None else None
    held = [(str(path), _read(path, "checkpoint")) for path in against]
    from rich.progress import Progress

    # Only --full reports progress; the bar is on stderr and gone once the check ends.
    with (
        _workspace(workspace) as ws,
        Progress(transient=True, console=Console(stderr=True), disable=not full) as bar,
    ):
        task = bar.add_task("verifying entries", total=None)
        report = ws.verify_ledger(
            full=full,
            key=given,
            against=held,
            workers=workers,
            progress=lambda phase, done, total: bar.update(
                task, description=f"verifying {phase}", completed=done, total=total
            ),
        )
        verifier = given or ws.verifier()
        extra: list[Discrepancy] = []
        for path in receipts:
            extra.extend(check_receipt(ws.store, _read(path, "receipt"), verifier))
    findings = sorted([*report.discrepancies, *extra], key=order)
    if json_out:
        data = report.as_json()
        data["receipts"] = [d.as_json() for d in extra]
        data["ok"] = not findings
        data["first_bad_index"] = findings[0].index if findings else None
        print_json(data)
        if findings:
            raise typer.Exit(EXIT_FAILED)
        return
    err = _err()
    trusted = report.key or {}
    err.print(
        f"key: {trusted.get('name')} (key ID {trusted.get('key_id')}), {trusted.get('source')}",
        markup=False,
    )
    for warning in report.warnings:
        err.print(f"[yellow]warning[/]: {warning}")
    if findings:
        _fail(findings, report.total_found + len(extra))
    mode = "full" if full else "quick"
    typer.echo(
        f"ledger OK ({mode}): {report.size} entries, {report.checkpoints} checkpoint(s), "
        f"{report.entries} entries and {report.records} record rows re-checked"
        + (f", {report.artifacts} evidence file(s) hashed" if full else "")
        + (f", {len(receipts)} receipt(s) still match" if receipts else "")
        + (f", consistent with {len(against)} earlier checkpoint(s)" if against else "")
        + f"; key {trusted.get('key_id')}"
    )
    speed = report.throughput()
    typer.echo(
        f"checked in {speed['seconds']:.2f} s: {speed['entries_per_s']:,.0f} entries/s, "
        f"{speed['mb_per_s']:.1f} MB/s, {speed['workers']} worker(s)"
    )


@ledger_app.command("adopt")
def ledger_adopt(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Start the signer's state for a workspace made before scaleguard kept it.

    Verifies the whole ledger first, then trusts its newest checkpoint once:
    from then on the key only signs over that tree. Refused when the state
    exists or the ledger does not verify.
    """
    with _workspace(workspace) as ws:
        latest = ws.adopt_ledger().checkpoint
    if json_out:
        print_json(describe(latest))
        return
    typer.echo(f"adopted the checkpoint of size {latest.size}; the key now extends only it")


@ledger_app.command("verify-receipt")
def ledger_verify_receipt(
    file: Path = typer.Argument(..., help="A receipt (.tlog-proof) file.", dir_okay=False),
    key: str = typer.Option(..., "--key", help=KEY_HELP),
    consistency: Path | None = typer.Option(
        None,
        "--consistency",
        help="A newer checkpoint with a consistency proof from the receipt's "
        "('scaleguard ledger consistency SIZE --out FILE').",
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Verify a receipt offline, with only the log's public key; no workspace needed."""
    verifier = read_key(key)
    data = _read(file, "receipt")
    bundle = None if consistency is None else _read(consistency, "consistency proof")
    try:
        proven = verify_receipt(data, verifier)
        kind, moment, record = read_entry(proven.entry)
        newer = None
        if bundle is not None:
            newer = ledger_tree.verify_bundle(bundle, verifier, proven.checkpoint)
    except LedgerError as exc:
        _err().print(f"[bold red]receipt REJECTED[/]: {exc.message}")
        if exc.hint:
            _err().print(f"hint: {exc.hint}", markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    info = {
        "ok": True,
        "origin": proven.checkpoint.origin,
        "index": proven.index,
        "tree_size": proven.checkpoint.size,
        "root": b64encode(proven.checkpoint.root),
        "leaf_hash": proven.leaf_hash.hex(),
        "kind": kind,
        "time": moment,
        "record": record,
        "consistent_with": None if newer is None else newer.size,
    }
    if json_out:
        print_json(info)
        return
    typer.echo(
        f"receipt OK: entry {proven.index} ({kind}, {moment}) is in {proven.checkpoint.origin} "
        f"at tree size {proven.checkpoint.size}"
    )
    if newer is not None:
        typer.echo(f"and the log at size {newer.size} still contains that tree (consistent)")


@ledger_app.command("export")
def ledger_export(
    index: int = typer.Argument(..., min=0, help="Ledger entry index."),
    attestation: Path = typer.Option(
        ..., "--attestation", help="Write the DSSE envelope (in-toto Statement) here."
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Export an entry's record as an in-toto Statement in a DSSE envelope, signed."""
    with _workspace(workspace) as ws:
        signed = ws.signed_checkpoint()
        with ws.store.read() as s:
            envelope, parsed = ledger_tree.export_attestation(s, index, ws.signer(), signed)
    atomic_write(attestation, envelope)
    info = {
        "index": index,
        "kind": parsed.kind,
        "predicate_type": ledger_tree.predicate_type(parsed.kind),
        "file": str(attestation),
    }
    if json_out:
        print_json(info)
        return
    typer.echo(f"wrote {attestation}: {parsed.kind} entry {index} as {info['predicate_type']}")


@ledger_app.command("verify-attestation")
def ledger_verify_attestation(
    file: Path = typer.Argument(..., help="A DSSE envelope from 'ledger export'.", dir_okay=False),
    key: str = typer.Option(..., "--key", help=KEY_HELP),
    json_out: bool = JSON_OPTION,
) -> None:
    """Verify an exported attestation offline with the log's public key."""
    verifier = read_key(key)
    data = _read(file, "attestation")
    try:
        checked = verify_attestation(data, verifier)
    except LedgerError as exc:
        _err().print(f"[bold red]attestation REJECTED[/]: {exc.message}")
        raise typer.Exit(EXIT_FAILED) from None
    info = {
        "ok": True,
        "subject": checked.subject_name,
        "sha256": checked.digest,
        "predicate_type": checked.predicate_type,
        "record": checked.record,
    }
    if json_out:
        print_json(info)
        return
    typer.echo(f"attestation OK: {checked.subject_name} ({checked.predicate_type})")


# -- keys --------------------------------------------------------------------------------


@keys_app.command("init")
def keys_init(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Create the workspace's signing key (keys/ledger.key, mode 0600) if it has none.

    Then signs the empty ledger. An existing key is never replaced, and a
    ledger with entries or checkpoints is refused: a new key cannot speak for
    what it never signed (restore the old keys folder from a backup instead).
    """
    with _workspace(workspace) as ws:
        signer = ws.init_ledger_key()
        with ws.store.read() as s:
            size = ledger_tree.ledger_size(s)
    info = {
        "vkey": signer.vkey,
        "key_file": str(ws.ledger_key_path),
        "checkpoint_size": size,
    }
    if json_out:
        print_json(info)
        return
    typer.echo(f"created {ws.ledger_key_path} (keep it secret; back it up)")
    typer.echo(f"public key: {signer.vkey}")


@keys_app.command("show")
def keys_show(
    vkey_only: bool = typer.Option(
        False, "--vkey", help="Print only the public key (vkey), e.g. to save as a .vkey file."
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Show the public half of the workspace's ledger key: name, key ID and vkey."""
    with _workspace(workspace) as ws:
        verifier = ws.verifier()
        path = ws.ledger_key_path
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else None
    if vkey_only:
        typer.echo(verifier.vkey)
        return
    info = {
        "name": verifier.name,
        "key_id": verifier.key_id.hex(),
        "vkey": verifier.vkey,
        "key_file": str(path) if mode is not None else None,
        "key_file_mode": None if mode is None else f"{mode:04o}",
        "algorithm": "Ed25519",
    }
    if json_out:
        print_json(info)
        return
    typer.echo(f"name     {verifier.name}")
    typer.echo(f"key ID   {verifier.key_id.hex()}")
    typer.echo(f"vkey     {verifier.vkey}")
    typer.echo(
        f"key file {info['key_file'] or '(none here)'} {info['key_file_mode'] or ''}".rstrip()
    )
