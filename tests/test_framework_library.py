"""The built-in library loads a document only when it is needed, and never trusts a stale index."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from scaleguard.errors import FrameworkError, InputError, NotFoundError
from scaleguard.framework import library, loader
from scaleguard.framework.library import Library, builtin_index, load_builtin
from scaleguard.framework.loader import load_bytes
from scaleguard.framework.reindex import write_index
from scaleguard.workspace.vocabulary import check_fact_name, check_standard

BUILTIN = Path(library.__file__).parent / "builtin"


def test_the_shipped_index_is_what_the_documents_say() -> None:
    """Fails after a built-in document is added or edited without rewriting the index:
    run 'python -m scaleguard.framework.reindex'."""
    said = json.loads((BUILTIN / library.INDEX_NAME).read_text())["frameworks"]
    found = []
    for path in sorted(BUILTIN.glob("*.yaml")):
        fw = load_bytes(path.read_bytes(), f"builtin:{path.name}", builtin=True)
        meta = fw.doc.framework
        row = {"file": path.name, "id": meta.id, "version": meta.version}
        row["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        names = {n for t in fw.doc.thresholds for n in (t.id, *t.legacy_aliases)}
        row["thresholds"] = sorted(names)
        row["facts"] = sorted(fw.facts)
        row["standards"] = sorted(s.id for s in fw.doc.safeguard_standards)
        listed = library.summary_of(fw, builtin=True)
        row["summary"] = {k: listed[k] for k in library.SUMMARY_FIELDS}
        found.append(row)
    assert said == found
    assert library._files_as_indexed()


def test_checking_typed_names_loads_no_document(counted: list[str]) -> None:
    lib = Library()
    check_standard("asl-3-deployment", lib)
    check_fact_name("developer_leads", lib)
    with pytest.raises(InputError, match="did you mean 'asl-3-deployment'"):
        check_standard("asl-3-deploymnt", lib)
    assert counted == []


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Which built-in files get loaded (the real loader still runs)."""
    loads: list[str] = []
    real = loader.load_bytes

    def counting(data: bytes | str, origin: str, *, builtin: bool = False) -> object:
        loads.append(origin)
        return real(data, origin, builtin=builtin)

    monkeypatch.setattr(loader, "load_bytes", counting)
    load_builtin.cache_clear()
    yield loads
    load_builtin.cache_clear()


def test_naming_one_framework_loads_one_file(counted: list[str]) -> None:
    lib = Library()
    assert counted == []
    fw = lib.get("anthropic-rsp@3.0")
    assert fw.ref == "anthropic-rsp@3.0" and counted == ["builtin:anthropic-rsp-3.0.yaml"]
    latest = lib.get("gdm-fsf")
    assert (
        latest.ref
        == max(
            (r for r in builtin_index() if r.id == "gdm-fsf"),
            key=lambda r: tuple(int(p) for p in r.version.split(".")),
        ).ref
    )
    assert len(counted) == 2
    assert len(lib.entries) == len(builtin_index()) == len(set(counted))  # now all of them


def test_unknown_names_are_refused_without_loading_anything(counted: list[str]) -> None:
    lib = Library()
    with pytest.raises(NotFoundError, match="did you mean 'anthropic-rsp'"):
        lib.get("anthropic-rps@3.0")
    with pytest.raises(NotFoundError, match=re.escape("known versions: 1.0, 2.0")):
        lib.get("anthropic-rsp@9.9")
    assert counted == []


def test_a_workspace_copy_of_a_builtin_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_bytes((BUILTIN / "anthropic-rsp-3.0.yaml").read_bytes())
    clash = re.escape("two frameworks are both anthropic-rsp@3.0")
    with pytest.raises(FrameworkError, match=clash):
        Library(extra_dirs=[tmp_path])
    tolerant = Library(extra_dirs=[tmp_path], tolerant=True)
    assert [p.name for p, _ in tolerant.broken] == ["mine.yaml"]
    assert tolerant.get("anthropic-rsp@3.0").origin == "builtin:anthropic-rsp-3.0.yaml"


@pytest.fixture
def copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the built-in folder the library reads instead of the installed one."""
    folder = tmp_path / "builtin"
    shutil.copytree(BUILTIN, folder)
    monkeypatch.setattr(library, "builtin_folder", lambda: folder)
    caches = (builtin_index, load_builtin, library._files_as_indexed)
    for cached in caches:
        cached.cache_clear()
    yield folder
    for cached in caches:
        cached.cache_clear()


def test_an_index_that_names_the_wrong_version_fails_closed(copied: Path) -> None:
    index = json.loads((copied / "index.json").read_text())
    for row in index["frameworks"]:
        if row["file"] == "anthropic-rsp-3.0.yaml":
            row["version"] = "9.0"  # would make "anthropic-rsp@9.0" (and the latest) RSP 3.0
    (copied / "index.json").write_text(json.dumps(index))
    stale = re.escape("holds anthropic-rsp@3.0, but the built-in index")
    for name in ("anthropic-rsp@9.0", "anthropic-rsp"):
        with pytest.raises(FrameworkError, match=stale):
            Library().get(name)


@pytest.mark.parametrize(
    "damage", ["extra file", "missing file", "not json", "wrong shape", "one version twice"]
)
def test_an_index_that_does_not_match_the_folder_fails_closed(copied: Path, damage: str) -> None:
    if damage == "extra file":
        shutil.copy(copied / "gdm-fsf-3.0.yaml", copied / "gdm-fsf-9.0.yaml")
    elif damage == "missing file":
        (copied / "gdm-fsf-3.0.yaml").unlink()
    elif damage == "one version twice":
        index = json.loads((copied / "index.json").read_text())
        index["frameworks"][1]["version"] = index["frameworks"][0]["version"]
        (copied / "index.json").write_text(json.dumps(index))
    elif damage == "not json":
        (copied / "index.json").write_text("{")
    else:
        (copied / "index.json").write_text('{"frameworks": [{"file": 1}]}')
    with pytest.raises(FrameworkError, match="built-in framework index"):
        Library()


def test_an_edited_file_is_read_for_its_names_not_the_index(
    copied: Path, counted: list[str]
) -> None:
    """The index speaks for a file only while the file is byte for byte the one indexed."""
    path = copied / "anthropic-rsp-3.0.yaml"
    text = path.read_text()
    standard = next(r for r in builtin_index() if r.file == path.name).vocabulary.standards
    assert "asl-3-deployment" in standard
    path.write_text(text.replace("asl-3-deployment", "asl-3-deploy-edited"))
    lib = Library()
    assert any("asl-3-deploy-edited" in v.standards for v in lib.vocabularies())
    assert "builtin:anthropic-rsp-3.0.yaml" in counted  # the documents were read


def test_the_index_can_be_rewritten_from_the_documents(copied: Path) -> None:
    before = (copied / "index.json").read_text()
    (copied / "index.json").write_text("{}")
    assert write_index() == copied / "index.json"
    assert (copied / "index.json").read_text() == before


def test_one_frameworks_history_and_the_list_of_refs_load_only_what_they_need(
    counted: list[str],
) -> None:
    from scaleguard.diff.history import library_versions

    lib = Library()
    assert lib.refs() == [e.ref for e in Library().entries]
    counted.clear()  # the line above loaded everything through entries
    load_builtin.cache_clear()
    versions = library_versions(Library(), "gdm-fsf")
    assert [fw.doc.framework.id for fw in versions] == ["gdm-fsf"] * len(versions)
    assert sorted(counted) == sorted(r.origin for r in builtin_index() if r.id == "gdm-fsf")
    with pytest.raises(NotFoundError, match="did you mean 'gdm-fsf'"):
        library_versions(Library(), "gdm-fs")


def test_the_listing_comes_from_the_index_and_equals_the_documents(counted: list[str]) -> None:
    """`frameworks list` loads no built-in document, and shows what loading them would."""
    lib = Library()
    listed = lib.summaries()
    assert counted == []
    assert listed == [library.summary_of(e.framework, e.builtin) for e in lib.entries]
    assert json.dumps(listed) == json.dumps(
        [library.summary_of(e.framework, e.builtin) for e in lib.entries]
    )  # the same keys in the same order, so the JSON output is byte for byte the same


def test_an_edited_file_is_listed_from_the_document_not_the_index(
    copied: Path, counted: list[str]
) -> None:
    path = copied / "anthropic-rsp-3.0.yaml"
    path.write_text(path.read_text().replace("title: ", "title: Edited ", 1))
    listed = {s["ref"]: s for s in Library().summaries()}
    assert listed["anthropic-rsp@3.0"]["title"].startswith("Edited ")
    assert "builtin:anthropic-rsp-3.0.yaml" in counted


@pytest.mark.parametrize(
    "summary",
    [None, {}, {"title": 1}, "x"],
    ids=["null", "empty", "wrong type", "text"],
)
def test_an_index_with_a_broken_summary_fails_closed(copied: Path, summary: object) -> None:
    index = json.loads((copied / "index.json").read_text())
    index["frameworks"][0]["summary"] = summary
    (copied / "index.json").write_text(json.dumps(index))
    with pytest.raises(FrameworkError, match="built-in framework index"):
        Library()


def test_listing_frameworks_loads_no_document_model() -> None:
    """The listing needs the index, not the document model and its validators."""
    import subprocess
    import sys

    code = (
        "import sys; from scaleguard.cli.app import main\n"
        "try:\n    main(['frameworks', 'list', '--json'])\nexcept SystemExit:\n    pass\n"
        "print('MODEL' if 'scaleguard.framework.model' in sys.modules else 'NO MODEL', "
        "file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stderr.strip().endswith("NO MODEL"), done.stderr
    assert json.loads(done.stdout)[0]["ref"]
