"""The data directory's generations and atomic swap."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.datadir import BuildLocked, DataDir
from graph.errors import NoStore
from graph.store import OxigraphStore


def _complete(dd: DataDir, label: str) -> str:
    gen = dd.new_generation()
    store = OxigraphStore(gen.store_path)
    store.load(f'<http://x/s> <http://x/p> "{label}" .'.encode(), "nt", "http://x/g")
    store.flush()
    gen.write_manifest({"label": label})
    dd.publish(gen)
    return gen.id


def test_empty_dir_has_no_current_and_says_how_to_build(tmp_path: Path) -> None:
    dd = DataDir(tmp_path / "var")
    assert dd.current() is None
    with pytest.raises(NoStore, match="cooplink build"):
        dd.require_current()


def test_publish_swaps_and_prune_keeps_current_and_previous(tmp_path: Path) -> None:
    dd = DataDir(tmp_path)
    first = _complete(dd, "un")
    second = _complete(dd, "deux")
    third = _complete(dd, "trois")
    assert dd.require_current().id == third
    dd.prune(keep=2)
    left = sorted(p.name for p in dd.generations_dir.iterdir())
    assert left == sorted([second, third])
    assert first not in left


def test_an_unpublished_generation_is_never_served(tmp_path: Path) -> None:
    dd = DataDir(tmp_path)
    served = _complete(dd, "servi")
    half = dd.new_generation()  # a build that died before publish
    OxigraphStore(half.store_path).load(b'<http://x/a> <http://x/b> "c" .', "nt", "http://x/g")
    assert dd.require_current().id == served


def test_only_one_writer_at_a_time(tmp_path: Path) -> None:
    dd = DataDir(tmp_path)
    with dd.build_lock(), pytest.raises(BuildLocked), dd.build_lock():
        pass
