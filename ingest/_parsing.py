"""Parsing shared by the readers: file bytes, amounts, years, lists, language.

Every parser raises :class:`ValueError` with a French message that names the bad value and
says what was expected; the readers turn it into an :class:`ingest.records.Issue` located at
the cell.

Amount formats (decision, documented in the spreadsheet reader too): French and English
groupings are accepted — ``12 500,50 €``, ``12 500 €``, ``12.500,50``, ``12,500.50``,
``12500.5``, ``1 234 567`` — with any space (normal, non-breaking U+00A0, narrow U+202F, thin
U+2009) as thousands separator, an optional ``€``/``EUR``/``euros`` before or after, and the
multipliers ``k€`` (×1 000) and ``M€`` (×1 000 000), both common in French budget tables.
A lone comma is a decimal comma (French first).  A single dot followed by exactly three digits
(``12.500``) is refused as ambiguous: a factor of 1 000 on a DAECT figure is worse than a
rejected row.  Negative amounts are refused.  ``-``, ``NC``, ``ND``, ``n/a`` mean "no value".
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from ingest.normalise import fold

YEAR_MIN = 1950
YEAR_MAX = 2100

#: Cell contents that mean "no value given" (compared after folding).
_EMPTY_MARKERS = frozenset(
    {"", "-", "--", "–", "—", "nc", "n.c.", "n/c", "nd", "n.d.", "n/a", "na"}
)

_SPACES = re.compile(r"\s+")

_AMOUNT = re.compile(
    r"(?:(?:eur|€)\s*)?(?P<num>[0-9][0-9 .,']*?|[.,][0-9]+)\s*"
    r"(?:(?P<mult>k|m|mio)\s*(?:€|eur|euros?)|€|eur|euros?)?",
    re.IGNORECASE,
)

_EXPECTED_AMOUNT = "attendu : un montant en euros, par ex. « 12 500,50 € »"


def clean_text(value: str) -> str:
    """NFC-normalise a cell (macOS exports decomposed accents) and strip surrounding spaces."""
    return unicodedata.normalize("NFC", value).strip()


def one_line(value: str) -> str:
    """A title-like value on one line: every run of whitespace becomes one space."""
    return _SPACES.sub(" ", clean_text(value))


def is_empty(value: object) -> bool:
    """True for ``None`` and for text meaning "no value" (blank, ``-``, ``NC``, ``n/a``…)."""
    return value is None or (isinstance(value, str) and fold(value) in _EMPTY_MARKERS)


def split_list(value: str, separators: tuple[str, ...] = (";",)) -> list[str]:
    """Split a multi-valued cell; keeps empty slots so parallel columns stay aligned."""
    parts = [value]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    return [one_line(p) for p in parts]


def split_parenthesis(text: str) -> tuple[str, str | None]:
    """``"Commune de Dakar (Sénégal)"`` → ``("Commune de Dakar", "Sénégal")``; no group → None."""
    match = re.fullmatch(r"(.*?)\s*\(([^()]*)\)\s*", text)
    if not match or not match.group(1).strip() or not match.group(2).strip():
        return text.strip(), None
    return match.group(1).strip(), match.group(2).strip()


def parse_amount(value: object) -> Decimal | None:
    """A non-negative amount in euros from a cell (text or number); None when empty."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"montant invalide : « {value} » ({_EXPECTED_AMOUNT})")
    if isinstance(value, int | float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"montant invalide : « {value} » ({_EXPECTED_AMOUNT})")
        # repr() of a float is its shortest round-tripping form: 12500.5, not 12500.499999…
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if amount < 0:
            raise ValueError(f"montant négatif : « {value} » (attendu : un montant positif ou nul)")
        return amount
    text = clean_text(str(value))
    if text.startswith(("-", "−")) or (text.startswith("(") and text.endswith(")")):
        raise ValueError(f"montant négatif : « {text} » (attendu : un montant positif ou nul)")
    match = _AMOUNT.fullmatch(_SPACES.sub(" ", text))
    if not match:
        raise ValueError(f"montant invalide : « {text} » ({_EXPECTED_AMOUNT})")
    amount = _number(match.group("num").strip(), text)
    mult = (match.group("mult") or "").lower()
    if mult == "k":
        amount *= 1000
    elif mult in ("m", "mio"):
        amount *= 1_000_000
    return amount


def _number(num: str, original: str) -> Decimal:
    """Decode the digits-and-separators part of an amount (see the module docstring)."""
    decimal_sep: str | None = None
    thousands = " '"
    if "," in num and "." in num:
        decimal_sep = "," if num.rfind(",") > num.rfind(".") else "."
        thousands += "." if decimal_sep == "," else ","
    elif num.count(",") == 1:
        decimal_sep = ","
    elif "," in num:
        thousands += ","
    elif num.count(".") == 1:
        if re.fullmatch(r"[0-9]{1,3}\.[0-9]{3}", num.replace(" ", "")):
            raise ValueError(
                f"montant ambigu : « {original} » (point suivi de 3 chiffres : séparateur de "
                "milliers ou virgule décimale ? écrivez « 12 500 » ou « 12,5 »)"
            )
        decimal_sep = "."
    elif "." in num:
        thousands += "."
    integer, _, fraction = num.partition(decimal_sep) if decimal_sep else (num, "", "")
    groups = [g for g in re.split(f"[{re.escape(thousands)}]", integer)]
    grouped_ok = len(groups) == 1 or (
        1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
    )
    digits = "".join(groups)
    if not grouped_ok or not (digits or fraction) or not (digits + fraction).isdigit():
        raise ValueError(f"montant invalide : « {original} » ({_EXPECTED_AMOUNT})")
    try:
        return Decimal(f"{digits or '0'}.{fraction}" if fraction else digits)
    except InvalidOperation as exc:  # pragma: no cover - digits only by construction
        raise ValueError(f"montant invalide : « {original} » ({_EXPECTED_AMOUNT})") from exc


def parse_year(value: object, label: str) -> int | None:
    """A year in [1950, 2100] from a cell; ``label`` (« année de début ») names it in errors."""
    if is_empty(value):
        return None
    expected = f"attendu : un nombre à 4 chiffres entre {YEAR_MIN} et {YEAR_MAX}"
    year: int | None = None
    shown = value
    if isinstance(value, date):  # a date typed into a year column: its year is what was meant
        year = value.year
    elif isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif isinstance(value, float) and value.is_integer():
        year = int(value)
        shown = year
    elif isinstance(value, str):
        shown = text = clean_text(value)
        # "2019.0" is what some exports write for a number cell
        match = re.fullmatch(r"([0-9]{4})(?:\.0+)?", text)
        if match:
            year = int(match.group(1))
        elif re.fullmatch(r"[0-9]{4}\s*[-–/à]\s*[0-9]{2,4}", text):
            raise ValueError(
                f"{label} invalide : « {text} » ({expected} ; une seule année par cellule, "
                "la fin va dans « Année de fin »)"
            )
    if year is None or not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"{label} invalide : « {shown} » ({expected})")
    return year


# Short function words that differ between the three languages; words shared by two of them
# ("de", "la", "en", "que", "un", "a") are left out on purpose.
_STOP_WORD_LISTS = {
    "fr": "le les des du et est une pour dans avec sur au aux par qui cette ces ses leur leurs "
    "sont ont d l à été être",
    "en": "the and of to in for with is are on by this that from be will its which was were has "
    "have",
    "es": "el los las del y con para por una es se su sus al como lo más este esta ha han sido",
}
_STOP_WORDS = {lang: frozenset(words.split()) for lang, words in _STOP_WORD_LISTS.items()}
_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str, default: str = "fr", min_hits: int = 2) -> str:
    """Rough language of a text, ``fr``, ``en`` or ``es``, by counting stop words.

    Looks at the first 3,000 characters only.  Needs ``min_hits`` stop words and a strict
    winner; otherwise returns ``default`` (pass ``min_hits=1`` for a short title).
    """
    words = _WORD.findall(text[:3000].casefold())
    scores = {lang: sum(w in stops for w in words) for lang, stops in _STOP_WORDS.items()}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, score = ranked[0]
    if score >= min_hits and score > ranked[1][1]:
        return best
    return default


def cell_text(value: object) -> str:
    """Text of a spreadsheet cell: ``12`` not ``12.0``, dates as ISO, None as ``""``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()[:10]
    return clean_text(str(value))
