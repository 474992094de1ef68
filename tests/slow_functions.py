"""A functions factory that takes seconds to load a generation: it makes a worker's start-up
longer than a short time limit (tests of the warm spare in ``test_hostile_units.py``), and
one whose evaluation lasts as long as asked."""

from __future__ import annotations

import time
from pathlib import Path

LOAD_SECONDS = 3.0


def slow_load(store_path: Path) -> dict[str, object]:
    time.sleep(LOAD_SECONDS)
    return {}


#: ``<urn:cooplink-test:sleep>(seconds)`` sleeps, then returns ``"réveillé"``
SLEEP = "urn:cooplink-test:sleep"


def sleeping(store_path: Path) -> dict[str, object]:
    """A function that holds its worker for as long as the query says (queue tests in
    ``test_query_runner.py``)."""
    import pyoxigraph as ox

    def sleep(seconds: ox.Literal) -> ox.Literal:
        time.sleep(float(seconds.value))
        return ox.Literal("réveillé")

    return {SLEEP: sleep}
