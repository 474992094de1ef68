"""Maps drawn on the server as SVG from the vendored world geometry: no tile server, no script.

The geometry is Natural Earth's Admin 0 countries (public domain) as packaged by the npm package
``world-atlas`` 2.0.2 (ISC), vendored in ``static/vendor/world-atlas/``: ``countries-110m.json``
for the world, ``countries-50m.json`` for one country's outline (the 1:110m Senegal has a dozen
points and no Gambia). Both are TopoJSON: shared arcs, delta-encoded integers and one affine
``transform`` (https://github.com/topojson/topojson-specification); :func:`decode` turns a
file into rings of longitude/latitude, once per process.

Countries carry their ISO 3166-1 *numeric* code; pages speak ISO alpha-2, so ids are mapped
with ``pycountry`` (a dependency already), and Kosovo, which has no code in Natural Earth, by
its name (the graph uses the user-assigned ``XK``).

Projections: the world in Natural Earth I (Šavrič et al. 2015, the polynomial d3-geo uses), a
country in an equirectangular projection whose horizontal scale is the cosine of its middle
latitude — at a country's scale the two are indistinguishable, and this one keeps a partner
town's point exactly where its longitude and latitude say.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ATLAS_DIR = Path(__file__).parent / "static" / "vendor" / "world-atlas"
WORLD_WIDTH = 960.0
COUNTRY_WIDTH = 640.0
COUNTRY_MAX_HEIGHT = 520.0
#: Countries Natural Earth gives no ISO numeric code, by the name it gives them.
_BY_NAME = {"Kosovo": "XK"}
#: Antarctica takes a fifth of a world map and has no cooperation.
_LEFT_OUT = {"AQ"}

Ring = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Shape:
    """One country: ISO2 code (``""`` when it has none), Natural Earth name, rings (lon, lat)."""

    iso2: str
    name: str
    rings: tuple[Ring, ...]

    def bbox(self) -> tuple[float, float, float, float]:
        lons = [p[0] for ring in self.rings for p in ring]
        lats = [p[1] for ring in self.rings for p in ring]
        return min(lons), min(lats), max(lons), max(lats)


def _iso2(numeric: str | None, name: str) -> str:
    if name in _BY_NAME:
        return _BY_NAME[name]
    if not numeric:
        return ""
    import pycountry

    found = pycountry.countries.get(numeric=numeric)
    return str(found.alpha_2) if found is not None else ""


def decode(topology: dict[str, Any]) -> list[Shape]:
    """The ``countries`` of a TopoJSON topology as :class:`Shape` s (quantised arcs decoded)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs: list[list[tuple[float, float]]] = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # delta-encoded quantised positions
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes: Sequence[int]) -> Ring:
        points: list[tuple[float, float]] = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]  # ~i: arc i reversed
            points.extend(arc if not points else arc[1:])  # arcs share their end points
        return tuple(points)

    shapes = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        kind, parts = geometry.get("type"), geometry.get("arcs", [])
        polygons = [parts] if kind == "Polygon" else parts if kind == "MultiPolygon" else []
        rings = tuple(ring(r) for polygon in polygons for r in polygon)
        name = str(geometry.get("properties", {}).get("name", ""))
        shapes.append(Shape(_iso2(geometry.get("id"), name), name, rings))
    return shapes


@functools.cache
def shapes(scale: str) -> tuple[Shape, ...]:
    """The countries of ``countries-{scale}.json`` (``110m`` or ``50m``), read once."""
    with (ATLAS_DIR / f"countries-{scale}.json").open(encoding="utf-8") as f:
        return tuple(decode(json.load(f)))


def natural_earth(lon: float, lat: float) -> tuple[float, float]:
    """Natural Earth I of a point in degrees, in radians-sized units (x right, y up)."""
    lam, phi = math.radians(lon), math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2
                                                                       - 0.001529 * phi4)))
    y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2
                                                     - 0.005916 * phi4)))
    return x, y


def path(rings: Iterable[Iterable[tuple[float, float]]], thin: float = 0.5) -> str:
    """SVG path data of projected rings, to a tenth of a unit; a point closer than ``thin``
    to the last one kept is dropped (the eye cannot tell, the page is half the size)."""
    out = []
    for ring in rings:
        kept: list[tuple[float, float]] = []
        for x, y in ring:
            if not kept or abs(x - kept[-1][0]) + abs(y - kept[-1][1]) >= thin:
                kept.append((x, y))
        if len(kept) >= 3:
            out.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in kept) + "Z")
    return "".join(out)


def unwrap(ring: Ring, centre: float | None = None) -> Ring:
    """``ring`` with longitudes made continuous across the antimeridian (Russia's Chukotka,
    Fiji: 179.9 then -179.9 becomes 180.1), around ``centre`` when given."""
    points: list[tuple[float, float]] = []
    for lon, lat in ring:
        if points:
            while lon - points[-1][0] > 180:
                lon -= 360
            while lon - points[-1][0] < -180:
                lon += 360
        elif centre is not None:
            while lon - centre > 180:
                lon -= 360
            while lon - centre < -180:
                lon += 360
        points.append((lon, lat))
    return tuple(points)


def _world_rings(ring: Ring) -> list[Ring]:
    """A ring as drawn on a world map from -180° to 180°: one crossing the antimeridian is
    drawn on both edges, each copy flattened onto its edge beyond it (a sliver's error at
    1:110m)."""
    continuous = unwrap(ring)
    lons = [p[0] for p in continuous]
    if min(lons) >= -180 and max(lons) <= 180:
        return [ring]
    out = []
    for shift in (-360.0, 0.0, 360.0):
        moved = [(lon + shift, lat) for lon, lat in continuous]
        if any(-180 < lon < 180 for lon, _ in moved):
            out.append(tuple((min(max(lon, -180.0), 180.0), lat) for lon, lat in moved))
    return out


def clip(points: Sequence[tuple[float, float]], box: tuple[float, float, float, float],
         ) -> list[tuple[float, float]]:
    """A projected ring clipped to ``box`` (x0, y0, x1, y1): Sutherland–Hodgman, one edge of
    the box at a time (a neighbour of a country map is drawn only where it shows)."""
    x0, y0, x1, y1 = box
    edges = ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False))
    out = list(points)
    for axis, limit, keep_above in edges:
        if not out:
            break
        source, out = out, []

        def inside(p: tuple[float, float], axis: int = axis, limit: float = limit,
                   keep_above: bool = keep_above) -> bool:
            return p[axis] >= limit if keep_above else p[axis] <= limit

        for i, current in enumerate(source):
            previous = source[i - 1]
            if inside(current) != inside(previous):
                t = (limit - previous[axis]) / (current[axis] - previous[axis])
                out.append((previous[0] + t * (current[0] - previous[0]),
                            previous[1] + t * (current[1] - previous[1])))
            if inside(current):
                out.append(current)
    return out


@dataclass(frozen=True)
class WorldShape:
    """A country of the world map: its path, and its centre and size on the map."""

    iso2: str
    name: str
    d: str
    x: float
    y: float
    area: float  # of its bounding box, in square units of the map


@functools.cache
def world(width: float = WORLD_WIDTH) -> tuple[tuple[WorldShape, ...], float]:
    """The world's countries projected in Natural Earth I at ``width``, and the map's height.

    Countries too small for the 1:110m file (Cabo Verde, Comoros, Mauritius…) come from the
    1:50m one, so that each can at least be drawn as a dot."""
    main = [s for s in shapes("110m") if s.iso2 not in _LEFT_OUT]
    known = {s.iso2 for s in main}
    extra = [s for s in shapes("50m") if s.iso2 and s.iso2 not in known | _LEFT_OUT]
    half_width, _ = natural_earth(180, 0)
    _, top = natural_earth(0, 84)
    _, bottom = natural_earth(0, -58)
    k = width / (2 * half_width)
    height = (top - bottom) * k

    def project(lon: float, lat: float) -> tuple[float, float]:
        x, y = natural_earth(lon, lat)
        return (x + half_width) * k, (top - y) * k

    out = []
    for shape in [*main, *extra]:
        rings = [[project(lon, lat) for lon, lat in part]
                 for ring in shape.rings for part in _world_rings(ring)]
        xs = [p[0] for ring in rings for p in ring]
        ys = [p[1] for ring in rings for p in ring]
        if not xs:
            continue
        # the centre of the largest ring: a dot for a small country sits on its main island
        biggest = max(rings, key=len)
        cx = sum(p[0] for p in biggest) / len(biggest)
        cy = sum(p[1] for p in biggest) / len(biggest)
        out.append(WorldShape(shape.iso2, shape.name, path(rings), round(cx, 1), round(cy, 1),
                              (max(xs) - min(xs)) * (max(ys) - min(ys))))
    return tuple(out), round(height, 1)


@dataclass(frozen=True)
class CountryFrame:
    """One country's outline and its neighbours, and how to place a point on them."""

    iso2: str
    d: str  # the country
    neighbours: tuple[str, ...]  # paths of the countries around, clipped by the view
    width: float
    height: float
    west: float
    north: float
    k: float  # map units per degree of latitude
    kx: float  # map units per degree of longitude
    centre: float  # middle longitude: points are unwrapped around it

    def place(self, lon: float, lat: float) -> tuple[float, float]:
        lon = unwrap(((lon, lat),), self.centre)[0][0]
        return round((lon - self.west) * self.kx, 1), round((self.north - lat) * self.k, 1)

    def contains(self, lon: float, lat: float) -> bool:
        x, y = self.place(lon, lat)
        return 0 <= x <= self.width and 0 <= y <= self.height


@functools.cache
def country(iso2: str) -> CountryFrame | None:
    """The frame of ``iso2`` from the 1:50m file (``None`` when Natural Earth lacks it)."""
    found = [s for s in shapes("50m") if s.iso2 == iso2]
    if not found:
        return None
    shape = found[0]
    rings = _main_rings(shape)
    west, south, east, north = Shape(shape.iso2, shape.name, rings).bbox()
    centre = (west + east) / 2
    margin = max(east - west, north - south) * 0.06 + 0.2
    west, east, south, north = west - margin, east + margin, south - margin, north + margin
    cos = max(math.cos(math.radians((north + south) / 2)), 0.2)
    k = min(COUNTRY_WIDTH / ((east - west) * cos), COUNTRY_MAX_HEIGHT / (north - south))
    kx = k * cos
    width, height = round((east - west) * kx, 1), round((north - south) * k, 1)
    box = (-2.0, -2.0, width + 2, height + 2)

    def project(ring: Ring) -> list[tuple[float, float]]:
        return [((lon - west) * kx, (north - lat) * k) for lon, lat in unwrap(ring, centre)]

    around = []
    for other in shapes("50m"):
        if other is shape:
            continue
        clipped = [clip(project(r), box) for r in other.rings]
        if any(len(r) >= 3 for r in clipped):
            around.append(path(clipped))
    return CountryFrame(iso2, path(clip(project(r), box) for r in shape.rings), tuple(around),
                        width, height, west, north, k, kx, centre)


def _main_rings(shape: Shape) -> tuple[Ring, ...]:
    """The rings that frame a country: all but far-away islands (France's overseas, Chile's
    Easter Island…), i.e. those whose box lies within 25° of the largest ring's, longitudes
    unwrapped around it."""
    largest = unwrap(max(shape.rings, key=lambda r: _span(unwrap(r))))
    lw, ls, le, ln = Shape("", "", (largest,)).bbox()
    kept = []
    for ring in shape.rings:
        ring = unwrap(ring, (lw + le) / 2)
        w, s, e, n = Shape("", "", (ring,)).bbox()
        if w > lw - 25 and e < le + 25 and s > ls - 25 and n < ln + 25:
            kept.append(ring)
    return tuple(kept)


def _span(ring: Ring) -> float:
    w, s, e, n = Shape("", "", (ring,)).bbox()
    return (e - w) * (n - s)
