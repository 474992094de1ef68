"""Folded tokens with their offsets, shared by the place recogniser and its data tools.

A query and every place name are cut into the same tokens: maximal runs of letters and digits,
lower-cased, accents removed (« Côte » → ``cote``, « Œ » → ``oe``), so matching is case-,
accent-, hyphen- and apostrophe-insensitive (« Guinée-Bissau » = « guinee bissau »,
« l'Inde » = ``l inde``). Each token keeps the character offsets of its span in the original
text, which is what lets a match report « en Tunisie » exactly as the user typed it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

#: Letters that NFKD does not decompose into a base letter plus accents.
_SPECIAL = {
    "œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o", "đ": "d",
    "Đ": "d", "ł": "l", "Ł": "l", "ı": "i", "ħ": "h", "þ": "th", "ð": "d",
}
#: Words cut by an apostrophe that French elides: « d'Ivoire » may be typed « divoire ».
ELIDED = frozenset({"d", "l"})


@dataclass(frozen=True, slots=True)
class Token:
    """One folded token and where it sits in the original text."""

    text: str  # folded: lower case, no accents
    start: int
    end: int
    upper: bool  # the original token starts with a capital letter
    all_upper: bool  # every letter of the original token is a capital


@lru_cache(maxsize=4096)
def fold_char(char: str) -> str:
    """The folded form of one character ("" for a separator)."""
    if char in _SPECIAL:
        return _SPECIAL[char]
    out = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    ).lower()
    return out if out.isalnum() else ""


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    return "".join(fold(word).split())


def tokenize(text: str) -> list[Token]:
    """Folded tokens of ``text`` with their character offsets (a few µs for a query)."""
    if text.isascii() or not any(unicodedata.combining(c) for c in text):
        return [_word_token(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    return _tokenize_by_char(text)


def _word_token(word: str, start: int, end: int) -> Token:
    return Token(_fold_word(word), start, end, word[0].isupper(), word.isupper())


def _tokenize_by_char(text: str) -> list[Token]:
    """The slow path, for text with separate combining accents (« a » + U+0300)."""
    tokens: list[Token] = []
    parts: list[str] = []
    start = -1
    for i, char in enumerate(text):
        if char.isascii():
            folded = char.lower() if char.isalnum() else ""
        elif unicodedata.combining(char):  # a separate accent (« a » + U+0300): part of a word
            continue
        else:
            folded = fold_char(char)
        if folded:
            if start < 0:
                start = i
            parts.append(folded)
            continue
        if start >= 0:
            tokens.append(_token(text, parts, start, i))
            parts, start = [], -1
    if start >= 0:
        tokens.append(_token(text, parts, start, len(text)))
    return tokens


def _token(text: str, parts: list[str], start: int, end: int) -> Token:
    original = text[start:end]
    letters = [c for c in original if c.isalpha()]
    return Token(
        "".join(parts),
        start,
        end,
        original[:1].isupper(),
        bool(letters) and all(c.isupper() for c in letters),
    )


_SPECIAL_TABLE = str.maketrans(_SPECIAL)
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """The folded tokens of ``text`` joined by single spaces (the lookup key of a name).

    Same tokens as :func:`tokenize` (a test checks it on every shipped name), computed on the
    whole string at once: building the recogniser folds some 20,000 names.
    """
    if text.isascii():
        return " ".join(_WORD.findall(text.lower()))
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_TABLE))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(plain.lower()))


def key_variants(name: str) -> list[str]:
    """Lookup keys a name is indexed under: its folded tokens, and the same with an elided
    « d' » / « l' » glued to the next word (« Côte d'Ivoire » is also ``cote divoire``)."""
    return word_variants(fold(name).split())


def word_variants(words: list[str]) -> list[str]:
    """:func:`key_variants` of a name already cut into folded words."""
    keys = [" ".join(words)] if words else []
    glued: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in ELIDED and i + 1 < len(words) and i > 0:
            glued.append(words[i] + words[i + 1])
            i += 2
            continue
        glued.append(words[i])
        i += 1
    if glued and glued != words:
        keys.append(" ".join(glued))
    return keys
