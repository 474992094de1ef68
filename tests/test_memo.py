"""``KnowledgeBase.memo``: a value per generation and key, computed once even when many requests
ask for it together (single flight), with shelves that do not push each other out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from search_api.knowledge_base import KnowledgeBase
from search_api.settings import Settings

CALLERS = 8


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=tmp_path / "var"))


def together(call: Callable[[], object], n: int = CALLERS) -> list[object]:
    """``call()`` from ``n`` threads released at the same moment; each one's value or error."""
    start = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def one(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = call()
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_concurrent_callers_of_one_key_share_one_computation(kb: KnowledgeBase) -> None:
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        time.sleep(0.3)  # long enough for every caller to arrive while it runs
        return {"projets": 42}

    outcomes = together(lambda: kb.memo("brief-SN", compute))
    assert len(calls) == 1
    assert all(o is outcomes[0] for o in outcomes) and outcomes[0] == {"projets": 42}
    assert kb.memo("brief-SN", compute) is outcomes[0] and len(calls) == 1  # kept


def test_an_error_reaches_every_waiter_and_is_not_kept(kb: KnowledgeBase) -> None:
    calls: list[int] = []

    def failing() -> object:
        calls.append(1)
        time.sleep(0.3)
        raise ValueError("graphe illisible")

    outcomes = together(lambda: kb.memo("figure", failing))
    assert len(calls) == 1
    assert all(isinstance(o, ValueError) for o in outcomes)
    assert kb.memo("figure", lambda: "calculée") == "calculée"  # the next visit computes again


def test_different_keys_are_computed_side_by_side(kb: KnowledgeBase) -> None:
    both = threading.Barrier(2, timeout=10)
    keys = iter(["SN", "ML"])

    def compute(key: str) -> str:
        both.wait()  # each computation needs the other one running: no key waits for another
        return key

    def visit() -> str:
        key = next(keys)
        return kb.memo(key, lambda: compute(key))

    assert sorted(map(str, together(visit, 2))) == ["ML", "SN"]


def test_a_full_shelf_keeps_the_other_shelves(kb: KnowledgeBase) -> None:
    kb.memo("SN", lambda: "fiche du Sénégal", shelf="country-brief", size=2)
    for i in range(10):
        kb.memo(f"profil-{i}", lambda: "profil", shelf="profile", size=3)
    assert kb.memo("SN", lambda: "recalculée", shelf="country-brief") == "fiche du Sénégal"
    assert kb.memo("profil-0", lambda: "recalculé", shelf="profile") == "recalculé"
    assert kb.memo("profil-9", lambda: "recalculé", shelf="profile") == "profil"
