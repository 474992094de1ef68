"""A functions factory that takes seconds to load a generation: it makes a worker's start-up
longer than a short time limit (tests of the warm spare in ``test_hostile_units.py``)."""

from __future__ import annotations

import time
from pathlib import Path

LOAD_SECONDS = 3.0


def slow_load(store_path: Path) -> dict[str, object]:
    time.sleep(LOAD_SECONDS)
    return {}
