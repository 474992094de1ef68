"""What the map templates draw (``templates/_map.html``): a world choropleth of one figure and a
country map with points, from the geometry of :mod:`search_api.http.atlas`.

The maps are pictures for the eye: the SVG is hidden from assistive technologies and its links
are out of the tab order, and the same rows are a table beside it (with the links) — the pattern
of every figure (``templates/_figure.html``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from search_api.http import atlas
from search_api.search.figures import Figure

#: Colour classes of a choropleth (``q1``…``q5`` in app.css; ``q0`` is « no data »).
CLASSES = 5
#: A country whose box on the world map is smaller than this (square units of a 960-wide map)
#: also gets a dot, or Lebanon, Haiti, Cabo Verde, the Comoros could not be seen or clicked.
DOT_AREA = 40.0
_NICE = (1, 2, 2.5, 5, 10)


def nice(value: float) -> int:
    """The nearest « round » number at or below ``value`` (1, 2, 2.5, 5 × 10ⁿ), at least 1."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    best = max(n for n in _NICE if n * power <= value)
    return max(1, int(best * power))


def breaks(values: Sequence[float], classes: int = CLASSES) -> list[int]:
    """Lower bounds of the colour classes: 1, then round numbers at equal steps of the
    logarithm up to the largest value (1, 2, 10, 50, 250 for 1,396) — a handful of countries
    hold most projects, so equal steps of the count would paint all the others alike."""
    top = max((v for v in values if v > 0), default=0.0)
    bounds = [1]
    for i in range(1, classes):
        candidate = nice(top ** (i / classes)) if top > 1 else 1
        if candidate > bounds[-1]:
            bounds.append(candidate)
    return bounds


def colour_class(value: float, bounds: Sequence[int]) -> int:
    """1 … len(bounds) for a value of at least 1, 0 for none."""
    if value < 1:
        return 0
    return sum(1 for b in bounds if value >= b)


def legend(bounds: Sequence[int], maximum: float,
           number: Callable[[int], str]) -> list[dict[str, Any]]:
    """``[{"class": 1, "text": "1 – 9"}, …]`` for the legend of a choropleth."""
    out = []
    for i, low in enumerate(bounds):
        high = bounds[i + 1] - 1 if i + 1 < len(bounds) else int(maximum)
        text = number(low) if high <= low else f"{number(low)} – {number(high)}"
        out.append({"class": i + 1, "text": text})
    return out


def choropleth(figure: Figure, label: Callable[[str, str], str],
               title: Callable[[str, float], str], href: Callable[[str], str],
               number: Callable[[int], str]) -> dict[str, Any]:
    """The world map of ``figure`` (rows keyed by ISO2): each country's path, colour class,
    link and tooltip, dots for the small ones, the legend."""
    rows = {row.key: row for row in figure.rows}
    bounds = breaks([row.value for row in figure.rows])
    shapes, height = atlas.world()
    countries, dots = [], []
    for shape in shapes:
        row = rows.get(shape.iso2)
        value = row.value if row else 0.0
        name = label(shape.iso2, row.label if row else shape.name) if shape.iso2 else shape.name
        entry = {"iso2": shape.iso2, "d": shape.d, "class": colour_class(value, bounds),
                 "title": title(name, value), "href": href(shape.iso2) if row else None,
                 "x": shape.x, "y": shape.y}
        countries.append(entry)
        if row and shape.area < DOT_AREA:
            dots.append(entry)
    drawn = {shape.iso2 for shape in shapes}
    return {
        "width": atlas.WORLD_WIDTH, "height": height,
        "countries": countries, "dots": dots,
        "legend": legend(bounds, figure.maximum, number),
        # rows of the figure the map cannot draw (no geometry): said under it
        "missing": [row for row in figure.rows if row.key not in drawn],
    }


def country_map(iso2: str, points: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The map of one country with ``points`` (each with ``lat``, ``lon``, ``value`` and what
    the template shows), sized by value; ``None`` when Natural Earth has no outline for it.
    Points outside the frame (a homonym town abroad) are left out."""
    frame = atlas.country(iso2)
    if frame is None:
        return None
    top = max((p["value"] for p in points), default=1) or 1
    placed = []
    for point in sorted(points, key=lambda p: -p["value"]):  # big ones under small ones
        if not frame.contains(point["lon"], point["lat"]):
            continue
        x, y = frame.place(point["lon"], point["lat"])
        radius = 3 + 9 * math.sqrt(max(point["value"], 0) / top)
        placed.append({**point, "x": x, "y": y, "r": round(radius, 1)})
    return {"width": frame.width, "height": frame.height, "d": frame.d,
            "neighbours": frame.neighbours, "points": placed}
