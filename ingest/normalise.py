"""Text normalisation for matching names typed by people against reference names.

Two levels:

- :func:`fold` keeps the words and punctuation but removes what people vary without meaning to:
  case, accents, ligatures, the many apostrophes, dashes and spaces a word processor produces.
  ``fold("Côte d’Ivoire") == fold("COTE D'IVOIRE") == "cote d'ivoire"``.
- :func:`name_key` goes further for look-ups: punctuation becomes a space and the usual
  abbreviations are expanded, so ``"St-Denis"``, ``"Saint Denis"`` and ``"SAINT-DENIS"`` share one
  key (``"saint denis"``).  Spreadsheet headers are matched with it too, so « Année de début »,
  « annee de debut » and « ANNEE DE DEBUT » are one column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Characters people (and word processors) use for an apostrophe.
_APOSTROPHES = "\u2019\u2018\u02bc\u02b9\u0060\u00b4\u2032\u201b\uff07"
#: Hyphens and dashes, all folded to "-" (the en dash in "Saint‑Denis – 93" is common in exports).
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
#: Ligatures that NFKD leaves alone but that French writes both ways ("œuvre" / "oeuvre").
_LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "ı": "i"}

_TRANSLATE = str.maketrans(
    {
        **{c: "'" for c in _APOSTROPHES},
        **{c: "-" for c in _DASHES},
        **_LIGATURES,
    }
)
_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")

#: Abbreviations expanded by :func:`name_key` (whole tokens only).
_ABBREVIATIONS = {
    "st": "saint",
    "ste": "sainte",
    "sts": "saints",
    "stes": "saintes",
    "mt": "mont",
}


def strip_accents(text: str) -> str:
    """Remove combining marks (é → e, ç → c) without touching anything else."""
    if text.isascii():  # most names: skip the decomposition
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Case-, accent- and typography-insensitive form of ``text``.

    Casefolds, strips accents, expands ligatures, turns every apostrophe into ``'`` and every
    dash into ``-``, every run of white space (non-breaking ones included) into one space.
    """
    folded = text.casefold().translate(_TRANSLATE)
    folded = strip_accents(folded)
    return _SPACES.sub(" ", folded).strip()


def name_key(text: str) -> str:
    """Look-up key: :func:`fold`, punctuation to spaces, common abbreviations expanded.

    ``name_key("Ville de St-Étienne") == "ville de saint etienne"``.
    """
    tokens = _NON_ALNUM.sub(" ", fold(text)).split()
    return " ".join(_ABBREVIATIONS.get(token, token) for token in tokens)


def header_key(text: str) -> str:
    """Key for a spreadsheet column header (case-, accent- and punctuation-insensitive)."""
    return name_key(text)


def same_text(a: str, b: str) -> bool:
    """Whether two strings are the same name once normalised with :func:`name_key`."""
    return name_key(a) == name_key(b)


def collapse(text: str) -> str:
    """Collapse white space (including non-breaking spaces) and strip; keeps everything else."""
    return _SPACES.sub(" ", text.replace("\u00a0", " ")).strip()


_LIST_SEPARATORS = re.compile(r"\s*(?:;|\||\n|/|,|\s+-\s+|\s+et\s+|\s+and\s+|&)\s*")


def split_values(text: str) -> list[str]:
    """Split a cell holding several values (« Sénégal ; Mali », « Eau / Santé »).

    Separators: ``;``, ``|``, ``/``, ``,``, newline, `` - ``, `` et ``, `` and ``, ``&``.  Empty
    pieces are dropped.  Callers try the whole cell first, since some names contain a separator
    (« Bosnie-Herzégovine » keeps its dash, but « Eau, assainissement » would split).
    """
    return [piece for piece in (p.strip() for p in _LIST_SEPARATORS.split(text)) if piece]


def unique(values: Iterable[str]) -> list[str]:
    """The values in first-seen order without duplicates."""
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)
