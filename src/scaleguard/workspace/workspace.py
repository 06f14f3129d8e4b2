"""A workspace is a folder, found like a git repository.

Layout::

    scaleguard.toml     the marker and configuration (see scaleguard.workspace.config)
    scaleguard.db       the SQLite database, unless scaleguard.toml names a server
    frameworks/         the user's framework YAML files (versioned with git)
    objects/ab/cdef…    raw evidence artifacts, stored by their SHA-256
    keys/               the ledger signing key ledger.key (folder 0700, file 0600),
                        its public half ledger.vkey, and ledger.state: the latest
                        checkpoint the key signed, which the database must extend

Commands find the workspace from ``--workspace DIR`` or by walking up from
the current folder to the first one holding ``scaleguard.toml``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from scaleguard.actor import acting_user
from scaleguard.errors import (
    ConflictError,
    FrameworkError,
    LedgerError,
    LedgerIntegrityError,
    NotFoundError,
    WorkspaceError,
)
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework
from scaleguard.ledger.keys import generate_key, load_private_key, parse_vkey, save_private_key
from scaleguard.ledger.note import Checkpoint, NoteSigner, NoteVerifier
from scaleguard.store import Store, ensure_schema, repo
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.store.ledger.origin import adopt, start_log
from scaleguard.store.ledger.signer import LedgerSigner, WorkspaceSealer, read_state
from scaleguard.store.records import FrameworkUse
from scaleguard.workspace.config import (
    CONFIG_NAME,
    DEFAULT_SQLITE,
    DatabaseSection,
    WorkspaceConfig,
    WorkspaceSection,
    dump_config,
    load_config,
)
from scaleguard.workspace.files import atomic_write
from scaleguard.workspace.locate import FRAMEWORKS, INIT_HINT, find_root

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scaleguard.store.ledger.census import Census
    from scaleguard.store.ledger.verify import VerifyReport

OBJECTS = "objects"
KEYS = "keys"
LEDGER_KEY = "ledger.key"
LEDGER_VKEY = "ledger.vkey"
#: The signer's own record of the latest checkpoint it signed (see scaleguard.store.ledger.signer).
LEDGER_STATE = "ledger.state"
#: Checkpoint origins (and key names) are ``scaleguard.local/<workspace name as a slug>``.
ORIGIN_PREFIX = "scaleguard.local/"


def current_user() -> str:
    """Who is acting, for provenance: see :func:`scaleguard.actor.acting_user`
    (``$SCALEGUARD_USER``, else the login name)."""
    return acting_user(None)


@dataclass
class Workspace:
    """An open workspace: its folder, its configuration and its database."""

    root: Path
    config: WorkspaceConfig
    store: Store
    _library: Library | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.config.workspace.name

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def objects_dir(self) -> Path:
        return self.root / OBJECTS

    @property
    def frameworks_dir(self) -> Path:
        return self.root / FRAMEWORKS

    @property
    def keys_dir(self) -> Path:
        return self.root / KEYS

    @property
    def ledger_key_path(self) -> Path:
        return self.keys_dir / LEDGER_KEY

    @property
    def ledger_vkey_path(self) -> Path:
        return self.keys_dir / LEDGER_VKEY

    @property
    def ledger_state_path(self) -> Path:
        return self.keys_dir / LEDGER_STATE

    def has_ledger_key(self) -> bool:
        return self.ledger_key_path.is_file()

    def signer(self) -> NoteSigner:
        """The workspace's ledger signing key (LedgerError if absent or readable by others)."""
        return load_private_key(self.ledger_key_path)

    def verifier(self) -> NoteVerifier:
        """The public key checkpoints are checked against: ledger.vkey, else the private key's."""
        if self.ledger_vkey_path.is_file():
            return parse_vkey(self.ledger_vkey_path.read_text(encoding="utf-8"))
        if self.has_ledger_key():
            return self.signer().verifier
        raise LedgerError(
            f"this workspace has no ledger key ({self.ledger_key_path})",
            hint="create one with 'scaleguard keys init', or pass the log's vkey with --key",
        )

    def _ledger_signer(self) -> LedgerSigner:
        """The store's own signer when it has one: its state was verified once and is read
        again only when the file changes, where a new signer would read the key and verify
        the state's signature on every call."""
        sealer = self.store.sealer
        if isinstance(sealer, WorkspaceSealer) and sealer.state_path == self.ledger_state_path:
            found = sealer.ledger_signer()
            if found is not None:
                return found
        return LedgerSigner(self.signer(), self.ledger_state_path)

    def checkpoint(self) -> ledger_tree.CheckpointResult:
        """The signer's latest checkpoint, after checking the database still extends it.

        Every write transaction is signed before it commits (the workspace's
        store carries a :class:`~scaleguard.store.ledger.signer.WorkspaceSealer`), so
        this signs nothing new; it raises LedgerIntegrityError when the
        database holds entries the key never signed, lost signed ones, or was
        rewritten, and LedgerError when the key or its state is missing.
        """
        signer = self._ledger_signer()
        with self.store.read() as s:
            tree = signer.latest(s)
            stored = ledger_tree.checkpoint_at(s, tree.size)
        assert stored is not None  # latest() checked that the row is there
        return ledger_tree.CheckpointResult(stored, signed=False)

    def init_ledger_key(self) -> NoteSigner:
        """Create the signing key of a workspace that has none, and sign the empty ledger.

        Refuses when a key exists, and when the ledger already holds entries or
        checkpoints: a new key cannot vouch for what it never signed (restore
        the old keys folder instead).
        """
        if self.has_ledger_key():
            raise ConflictError(
                f"this workspace already has a ledger key ({self.ledger_key_path})",
                hint="see it with 'scaleguard keys show'",
            )
        with self.store.read() as s:
            latest = ledger_tree.latest_checkpoint(s)
        if latest is not None:
            signed_by = latest.note.decode("utf-8", "replace").rstrip("\n").rsplit("\n", 1)[-1]
            raise LedgerError(
                f"this ledger already has checkpoints (the latest, of size {latest.size}, "
                f"signed '{signed_by[:80]}'); a new key could not continue them",
                hint=f"restore {self.ledger_key_path} and {self.ledger_state_path} from a "
                "backup; keys init is for ledgers that were never signed",
            )
        self.keys_dir.mkdir(mode=0o700, exist_ok=True)
        signer = generate_key(origin_for(self.name))
        with self.store.write() as tx:
            start_log(tx, signer, self.ledger_state_path)
            save_private_key(self.ledger_key_path, signer)
            atomic_write(self.ledger_vkey_path, (signer.vkey + "\n").encode("utf-8"))
        self.store.sealer = WorkspaceSealer(
            self.ledger_key_path, self.ledger_state_path, self.config.witness_path(self.root)
        )
        return signer

    def adopt_ledger(self) -> ledger_tree.CheckpointResult:
        """Start signer state for a workspace made before it existed (see the ledger docs).

        Verifies the whole ledger first and refuses on any finding other than
        the missing state itself.
        """
        from scaleguard.store.ledger.verify import verify

        signer = self.signer()
        report = verify(self.store, signer.verifier, full=True, objects=self.objects_dir)
        if not report.ok:
            first = report.first
            raise LedgerIntegrityError(
                "cannot adopt a ledger that does not verify: "
                + (first.render() if first else "see 'scaleguard ledger verify --full'"),
                hint="run 'scaleguard ledger verify --full' and restore the database first",
            )
        with self.store.write() as tx:
            tree = adopt(tx, signer, self.ledger_state_path)
            stored = ledger_tree.checkpoint_at(tx, tree.size)
        assert stored is not None
        return ledger_tree.CheckpointResult(stored, signed=False)

    def signed_checkpoint(self, session: Session | None = None) -> Checkpoint:
        """The signer's latest checkpoint (verified), for checks against its signed root
        (checked in ``session`` when given, so the checks that follow share its snapshot).

        A copy without the key (how a reviewer usually gets a workspace) has no signer
        state: it checks against the database's newest checkpoint, verified with the
        public key (:func:`~scaleguard.store.ledger.keyless.published_checkpoint`)."""
        if session is None:
            with self.store.read() as s:
                return self.signed_checkpoint(s)
        if not self.has_ledger_key():
            from scaleguard.store.ledger.keyless import published_checkpoint

            return published_checkpoint(session, self.verifier())
        return self._ledger_signer().latest(session).checkpoint

    def census(self, session: Session, signed: Checkpoint) -> Census:
        """How many entries of each kind and subject the signer signed up to ``signed``
        (:mod:`scaleguard.store.ledger.census`): what lets a check see a deleted row.
        Without the key, counted from the entries (checked against ``signed``) and kept
        in the user's cache folder (:mod:`~scaleguard.store.ledger.keyless`)."""
        if not self.has_ledger_key():
            from scaleguard.store.ledger.keyless import counted_for_copy

            return counted_for_copy(session, signed, self.verifier().key_id)
        return self._ledger_signer().census(session, signed)

    def verify_ledger(
        self,
        *,
        full: bool = False,
        key: NoteVerifier | None = None,
        against: Sequence[tuple[str, bytes]] = (),
        workers: int | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> VerifyReport:
        """Verify the ledger, saying which key was trusted and what could not be checked.

        ``key`` is the log's public key as the verifier got it; without it the
        workspace's own key is used and the report warns that whoever can
        write the workspace could have replaced it. The signer's state (when
        this copy of the workspace has it) and every checkpoint in ``against``
        (label, signed note) must still be in the log.
        """
        from scaleguard.store.ledger.verify import KnownCheckpoint, verify

        warnings: list[str] = []
        if key is None:
            verifier = self.verifier()
            source = self.relative(
                self.ledger_vkey_path if self.ledger_vkey_path.is_file() else self.ledger_key_path
            )
            warnings.append(
                f"the key was read from this workspace ({source}): whoever can change the "
                "workspace could have put their own key there; verify with --key and the vkey "
                "the log's owner published"
            )
        else:
            verifier, source = key, "given by the verifier"
            if self.ledger_vkey_path.is_file():
                own = self.ledger_vkey_path.read_text(encoding="utf-8").strip()
                if own != key.vkey:
                    warnings.append(
                        f"the workspace's own key ({own[:80]}) is not the key given; "
                        "checkpoints are checked against the given key only"
                    )
        known = [KnownCheckpoint(label, note) for label, note in against]
        state_problem: str | None = None
        try:
            state = read_state(self.ledger_state_path, verifier)
        except LedgerError as exc:
            state, state_problem = None, exc.message
        witness = self.config.witness_path(self.root)
        if witness is not None and witness.is_file():
            label = f"the witness copy ({self.relative(witness)})"
            known.append(KnownCheckpoint(label, witness.read_bytes()[:65536]))
        if state is not None and state.warning is not None:
            warnings.append(state.warning)
        if state is not None:
            known.append(
                KnownCheckpoint("the signer's latest (keys/ledger.state)", state.signed.note)
            )
        elif state_problem is None and len(known) == 0:
            warnings.append(
                "no signer state (keys/ledger.state) in this copy and no --against checkpoint: "
                "the newest entries could have been deleted together with their checkpoints; "
                "compare with a checkpoint published earlier"
            )
        report = verify(
            self.store,
            verifier,
            full=full,
            known=known,
            objects=self.objects_dir if full else None,
            workers=workers,
            progress=progress,
        )
        if state_problem is not None:
            report.add(None, "checkpoint", "keys/ledger.state", state_problem)
            report.finish()
        report.key = {
            "name": verifier.name,
            "key_id": verifier.key_id.hex(),
            "vkey": verifier.vkey,
            "source": source,
        }
        report.warnings = warnings
        return report

    def object_path(self, sha256: str) -> Path:
        """Where an artifact with this hash is (or would be) stored."""
        return self.objects_dir / sha256[:2] / sha256[2:]

    def relative(self, path: Path) -> str:
        """``path`` relative to the workspace root when inside it, else absolute."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path.resolve())

    def library(self) -> Library:
        """Built-in frameworks plus the workspace's ``frameworks/*.yaml``."""
        if self._library is None:
            self._library = Library(extra_dirs=[self.frameworks_dir])
        return self._library

    def use_framework(self, name: str | None = None) -> tuple[LoadedFramework, FrameworkUse]:
        """Resolve a framework and record its digest the first time this workspace uses it."""
        fw, origin = self.resolve_framework(name)
        with self.store.write() as tx:
            use = repo.record_framework(tx, ref=fw.ref, digest=fw.digest, origin=origin)
        return fw, use

    def resolve_framework(self, name: str | None = None) -> tuple[LoadedFramework, str]:
        """The framework ``name`` (else the default) and its origin as recorded, without
        recording it: for callers that record it in a transaction of their own."""
        chosen = name or self.config.frameworks.default
        if chosen is None:
            raise NotFoundError(
                "no framework named and no default in scaleguard.toml",
                hint='name one (e.g. anthropic-rsp@3.0) or set [frameworks] default = "..."',
            )
        library = self.library()
        fw = library.get(chosen)
        origin = fw.origin
        if not origin.startswith("builtin:"):
            origin = self.relative(Path(origin))
            published = library.builtin(fw.ref)
            if published is not None and published.digest != fw.digest:
                # a file given by path may not stand in for a published framework's rules
                raise FrameworkError(
                    f"{origin} calls itself {fw.ref}, a built-in framework, but its rules "
                    "are not the built-in ones",
                    hint=f"give it another id or version ('scaleguard frameworks diff "
                    f"{fw.ref} {origin}' shows what differs), or use {fw.ref} itself",
                )
        return fw, origin

    def close(self) -> None:
        self.store.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _explicit_root(path: Path) -> Path:
    path = path.expanduser()
    if path.name == CONFIG_NAME and path.is_file():
        return path.parent.resolve()
    if not path.exists():
        raise WorkspaceError(f"workspace folder {path} does not exist", hint=INIT_HINT)
    if not (path / CONFIG_NAME).is_file():
        raise WorkspaceError(
            f"{path} is not a scaleguard workspace (it has no {CONFIG_NAME})", hint=INIT_HINT
        )
    return path.resolve()


def open_workspace(path: Path | None = None) -> Workspace:
    """Open the workspace at ``path`` (or found from the cwd), migrating an older schema.

    A database whose schema is newer than this code is refused (StoreError).
    """
    root = _explicit_root(path) if path is not None else find_root()
    config = load_config(root / CONFIG_NAME)
    sqlite_file = config.sqlite_path(root)
    if sqlite_file is not None and not sqlite_file.is_file():
        raise WorkspaceError(
            f"the workspace database {sqlite_file} is missing",
            hint="restore it from a backup; scaleguard will not silently start an empty one",
        )
    store = Store(config.database_url(root))
    try:
        ensure_schema(store, create=False)
    except BaseException:
        store.dispose()
        raise
    store.sealer = WorkspaceSealer(
        root / KEYS / LEDGER_KEY, root / KEYS / LEDGER_STATE, config.witness_path(root)
    )
    return Workspace(root=root, config=config, store=store)


def init_workspace(
    directory: Path, *, db_url: str | None = None, name: str | None = None
) -> Workspace:
    """Create a workspace in ``directory`` (created if needed) and return it open.

    Refuses a folder that already holds a workspace or a scaleguard.db. On any
    failure, everything this call created is removed again.
    """
    try:
        root = directory.expanduser().resolve()
        exists = root.exists()
    except (OSError, RuntimeError) as exc:
        raise WorkspaceError(
            f"cannot use {directory} as a workspace folder: {exc}",
            hint="choose a folder you may create and write to",
        ) from None
    if exists and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a folder")
    if (root / CONFIG_NAME).exists():
        raise ConflictError(
            f"{root} is already a scaleguard workspace",
            hint="use it as it is; scaleguard init never overwrites a workspace",
        )
    if db_url is None and (root / DEFAULT_SQLITE).exists():
        raise ConflictError(
            f"{root / DEFAULT_SQLITE} already exists",
            hint="move it away, or initialise another folder",
        )
    database = DatabaseSection() if db_url is None else DatabaseSection(url=_stored_url(db_url))
    config = WorkspaceConfig(
        workspace=WorkspaceSection(name=_valid_name(name or root.name or "workspace")),
        database=database,
    )
    undo: list[Callable[[], None]] = []
    store: Store | None = None
    try:
        if not root.exists():
            root.mkdir(parents=True)
            undo.append(lambda: shutil.rmtree(root, ignore_errors=True))
        for sub, mode in ((OBJECTS, 0o755), (FRAMEWORKS, 0o755), (KEYS, 0o700)):
            folder = root / sub
            if not folder.exists():
                folder.mkdir()
                undo.append(folder.rmdir)
                os.chmod(folder, mode)  # mkdir's mode would be masked by the umask
            elif sub == KEYS:
                os.chmod(folder, mode)  # the signing key's folder is private, always
        store = Store(config.database_url(root))
        sqlite_file = Path(store.url.database or "") if store.backend == "sqlite" else None
        if sqlite_file is not None and not sqlite_file.exists():
            undo.append(lambda: _remove_sqlite(sqlite_file))
        ensure_schema(store, create=True)
        key_path = root / KEYS / LEDGER_KEY
        if key_path.exists():
            raise ConflictError(
                f"{key_path} already exists",
                hint="a new ledger gets a new key; move the old keys folder away first",
            )
        undo.append(lambda: _remove_keys(root / KEYS))
        signer = generate_key(origin_for(config.workspace.name))
        with store.write() as tx:
            start_log(tx, signer, root / KEYS / LEDGER_STATE)
        save_private_key(key_path, signer)
        atomic_write(root / KEYS / LEDGER_VKEY, (signer.vkey + "\n").encode("utf-8"))
        store.sealer = WorkspaceSealer(key_path, root / KEYS / LEDGER_STATE)
        atomic_write(root / CONFIG_NAME, dump_config(config).encode())
    except BaseException as exc:
        if store is not None:
            store.dispose()
        for step in reversed(undo):
            with contextlib.suppress(OSError):
                step()
        if isinstance(exc, OSError):
            where = exc.filename or root
            raise WorkspaceError(
                f"cannot create the workspace in {root}: {exc.strerror or exc} ({where})",
                hint="choose a folder you may create and write to",
            ) from None
        raise
    return Workspace(root=root, config=config, store=store)


def origin_for(name: str) -> str:
    """Log origin and key name for a workspace name: no spaces or '+' allowed there."""
    # a schema-less URL path, as C2SP checkpoint origins should be; accents are
    # transliterated (Ünï → uni) so that a name keeps its letters
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9.]+", "-", ascii_name.strip().lower()).strip("-.")
    return ORIGIN_PREFIX + (slug or "workspace")


def _remove_keys(keys_dir: Path) -> None:
    for name in (LEDGER_KEY, LEDGER_VKEY, LEDGER_STATE, LEDGER_STATE + ".lock"):
        (keys_dir / name).unlink(missing_ok=True)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _valid_name(name: str) -> str:
    from pydantic import ValidationError

    try:
        WorkspaceSection(name=name)
    except ValidationError:
        raise WorkspaceError(
            f"invalid workspace name {name[:120]!r}",
            hint="use 1 to 100 characters without control characters (--name NAME)",
        ) from None
    return name


def _stored_url(url: str) -> str:
    """The URL to keep in scaleguard.toml: normalised, with SQLite paths made absolute."""
    from scaleguard.store import normalize_url

    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        parsed = parsed.set(database=str(Path(parsed.database).expanduser().resolve()))
    return parsed.render_as_string(hide_password=False)
