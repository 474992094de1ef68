"""Money of synthetic projects: a cost that fits the kind of action and who leads it.

Orders of magnitude come from ``ingest/synthetic/phrases/costs.json``
(:class:`ingest.synthetic.plausibility.Costs`):
each main theme has a range of total costs (a youth exchange with a German town costs a few
thousand euros, a water programme in the Sahel up to two million), and each French authority
carries alone at most what its type and population allow (issue 12: a village of 300 does not
lead a 400,000 € programme; a région, a département or a métropole leads the large ones).
The total cost is drawn in the theme's range, scaled by the leaders' capacity; the works a
description may cite are then bounded by the money (:meth:`DescriptionWriter.constrain`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import Decimal

from ingest.reference import FrenchAuthority, ReferenceData
from ingest.synthetic.plausibility import Costs, populations

#: Capacity at which a leader draws the theme's median cost (about a city of 12,000).
_MEDIAN_CAPACITY = 300_000


class Budgets:
    """Capacities of the French authorities and the cost of each project."""

    def __init__(self, reference: ReferenceData, costs: Costs, rng: random.Random) -> None:
        self._costs, self._rng = costs, rng
        self._people = populations(reference)

    def population(self, authority: FrenchAuthority) -> int:
        return self._people.get(authority.uri, 0)

    def capacity(self, leaders: Sequence[FrenchAuthority]) -> float:
        """The largest total cost these authorities lead together."""
        return sum(self._costs.capacity(a.type, self._people.get(a.uri)) for a in leaders)

    def minimum(self, theme: str) -> float:
        """The least a project of this main theme costs."""
        return self._costs.themes.get(theme, (5_000.0, 0.0, 0.0))[0]

    def cost(self, theme: str, north: bool, leaders: Sequence[FrenchAuthority]) -> Decimal:
        """A total cost for a project on ``theme`` led by ``leaders`` (log-normal, rounded)."""
        low, median, high = self._costs.themes.get(theme, (5_000.0, 40_000.0, 500_000.0))
        if north:  # twinning exchanges: travel, hosting, small equipment
            median, high = median * self._costs.north_factor, max(low, high * 0.5)
        capacity = self.capacity(leaders)
        scale = min(2.5, max(0.3, (capacity / _MEDIAN_CAPACITY) ** 0.35))
        drawn = self._rng.lognormvariate(math.log(median * scale), 0.75)
        value = min(max(low, min(high, capacity)), max(low, drawn))
        step = 1_000 if value >= 100_000 else 100
        # rounded like a budget line, never above the ceiling (a capacity is rarely round)
        ceiling = max(low, min(high, capacity) // step * step)
        value = max(low, min(ceiling, round(value / step) * step))
        return Decimal(int(value))

    def split(self, cost: Decimal) -> tuple[Decimal, Decimal]:
        """Ministry co-financing (0–50 %) and the French authorities' share of ``cost``."""
        rng, total = self._rng, float(cost)
        cofinancing = 0.0
        if rng.random() < 0.7:
            rate = rng.choices((0.1, 0.2, 0.25, 0.3, 1 / 3, 0.4, 0.5),
                               weights=(2, 3, 2, 3, 1, 2, 3))[0]
            # amounts are often round: to the thousand when that keeps the 50 % ceiling
            step = 1_000 if rng.random() < 0.5 and total >= 10_000 else 100
            cofinancing = min(round(total * rate / step) * step, (total * 0.5) // step * step)
        share = min(round(total * rng.uniform(0.2, 0.7), -2), total - cofinancing)
        return Decimal(int(cofinancing)), Decimal(int(share))

    def works_budget(self, cost: Decimal) -> float:
        """What the works a description cites may cost: most of the budget, never all of it
        (studies, training, travel and follow-up take the rest)."""
        return float(cost) * self._rng.uniform(0.45, 0.8)
