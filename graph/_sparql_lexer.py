"""A linear SPARQL lexer: comments, IRIs, strings, variables, names, numbers, punctuation.

It exists so that reading a query (its form, its ``SERVICE`` keywords, its nesting depth, the
texts passed to ``cl:similarity``) never backtracks: every character is examined a bounded
number of times, so the cost is O(length) whatever the input (issue 8: the former regular
expression backtracked exponentially on an unterminated IRI full of ``\\u`` escapes).

It follows the terminals of SPARQL 1.1 (§19.8) closely enough to tell code from comments,
IRIs and strings exactly as a parser does, including the corners an attacker uses:

* a ``.`` ends a triple and never starts a name (``?o .SERVICE <…>`` is ``.`` then ``SERVICE``);
* ``\\#`` (and the other ``PN_LOCAL_ESC``) belongs to a prefixed name, it starts no comment;
* ``\\u`` escapes inside IRIs and strings are skipped as escapes (Oxigraph, checked with 0.5.13,
  does not pre-process escapes anywhere else, so neither does this lexer);
* names are read greedily, as the PEG parser of Oxigraph reads them, but keywords may be glued
  to what precedes them (``1SERVICE``, ``"x"SERVICE``, ``trueSERVICE`` all parse there): the
  guard therefore looks *inside* each name for the word ``service``
  (:mod:`graph.query_guard`).

An unterminated string ends the scan with an ``error`` token: ``"`` and ``'`` have no meaning
outside strings, so such a query can only be a syntax error (the parser reports where).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_WS = frozenset(" \t\r\n")
#: characters that may not appear in an IRIREF (besides the controls and space)
_IRI_FORBIDDEN = frozenset('<>"{}|^`\\')
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")
#: punctuation that stands alone (brackets are reported separately for the depth count)
_OPEN = frozenset("{([")
_CLOSE = frozenset("})]")


@dataclass(frozen=True, slots=True)
class Token:
    """One significant token: ``kind`` is iri, string, var, name, number, bnode, punct or
    error; ``text`` its source text; ``start`` its offset in the query."""

    kind: str
    text: str
    start: int


#: runs the scanners below skip in one regular-expression step: each is a single character class
#: repeated, which a regular expression matches in linear time (no backtracking), and each
#: matches exactly the characters the loop after it would have stepped over one at a time
#: (issue 13: lexing a query with the usual 20 PREFIX lines took 0.4 ms, character by character)
_IRI_RUN = re.compile(r'[^<>"{}|^`\\\x00-\x20]*')
_NAME_RUN = re.compile(r"[A-Za-z0-9_\-:.\x80-\U0010ffff]*")
_VAR_RUN = re.compile(r"[A-Za-z0-9_\x80-\U0010ffff]*")
_WS_RUN = re.compile(r"[ \t\r\n]*")


def _is_name_char(ch: str) -> bool:
    # PN_CHARS plus what prefixed names add (':' and '.'; '%' and '\' are handled apart);
    # every non-ASCII character counts, as PN_CHARS_BASE covers nearly all of them
    return ch.isalnum() or ch in "_-:." or ord(ch) > 0x7F


def _scan_iri(text: str, i: int) -> int:
    """End (exclusive) of the IRIREF starting at ``text[i] == '<'``, or -1 if there is none.

    Stops at the first character an IRIREF may not hold: since ``<`` is one of them, a failed
    scan covers characters no later IRI scan can revisit, which keeps the lexer linear."""
    n = len(text)
    j = _IRI_RUN.match(text, i + 1).end()  # type: ignore[union-attr]  # '*' always matches
    while j < n:
        ch = text[j]
        if ch == ">":
            return j + 1
        if ch == "\\":
            width = 4 if text.startswith("u", j + 1) else 8 if text.startswith("U", j + 1) else 0
            digits = text[j + 2 : j + 2 + width]
            if not width or len(digits) != width or not all(c in _HEX for c in digits):
                return -1
            j += 2 + width
            continue
        if ch in _IRI_FORBIDDEN or ord(ch) <= 0x20:
            return -1
        j += 1
    return -1


def _scan_short_string(text: str, i: int) -> int:
    """End of the ``'…'`` or ``"…"`` literal starting at ``i``, or -1 (unterminated line)."""
    quote = text[i]
    n = len(text)
    j = i + 1
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == quote:
            return j + 1
        if ch in "\r\n":
            return -1
        j += 1
    return -1


def _scan_long_string(text: str, i: int) -> int:
    """End of the ``'''…'''`` or ``\"\"\"…\"\"\"`` literal starting at ``i``, or -1."""
    delimiter = text[i : i + 3]
    n = len(text)
    j = i + 3
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if text.startswith(delimiter, j):
            return j + 3
        j += 1
    return -1


def _scan_name(text: str, i: int) -> int:
    """End of the name (keyword, prefixed name, ``a``, ``true``…) starting at ``i``; a final
    ``.`` is not part of it (it ends the triple)."""
    n = len(text)
    j = i
    while j < n:
        j = _NAME_RUN.match(text, j).end()  # type: ignore[union-attr]
        if j >= n:
            break
        ch = text[j]
        if ch == "\\" and j + 1 < n:  # PN_LOCAL_ESC: \# \. \/ … stay inside the name
            j += 2
        elif ch == "%" and j + 2 < n and text[j + 1] in _HEX and text[j + 2] in _HEX:
            j += 3
        elif _is_name_char(ch):
            j += 1
        else:
            break
    while j > i + 1 and text[j - 1] == "." and text[j - 2] != "\\":
        j -= 1
    return j


def _scan_number(text: str, i: int) -> int:
    n = len(text)
    j = i
    while j < n and text[j] in _DIGITS:
        j += 1
    if j < n and text[j] == "." and j + 1 < n and text[j + 1] in _DIGITS:
        j += 1
        while j < n and text[j] in _DIGITS:
            j += 1
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if k < n and text[k] in _DIGITS:
            j = k
            while j < n and text[j] in _DIGITS:
                j += 1
    return j


def tokens(text: str) -> Iterator[Token]:
    """The significant tokens of ``text`` (whitespace and comments dropped), in one pass."""
    n = len(text)
    i = 0
    no_long_close: set[str] = set()  # delimiters with no closing occurrence left: skip rescans
    while i < n:
        ch = text[i]
        if ch in _WS:
            i = _WS_RUN.match(text, i).end()  # type: ignore[union-attr]
        elif ch == "#":
            end = i
            while end < n and text[end] not in "\r\n":
                end += 1
            i = end
        elif ch == "<":
            end = _scan_iri(text, i)
            if end < 0:  # the less-than operator (or <=)
                end = i + 2 if text.startswith("<=", i) else i + 1
                yield Token("punct", text[i:end], i)
            else:
                yield Token("iri", text[i:end], i)
            i = end
        elif ch in "\"'":
            end = -1
            delimiter = ch * 3
            if text.startswith(delimiter, i) and delimiter not in no_long_close:
                end = _scan_long_string(text, i)
                if end < 0:
                    no_long_close.add(delimiter)
            if end < 0:
                end = _scan_short_string(text, i)
            if end < 0:
                yield Token("error", text[i:], i)
                return
            yield Token("string", text[i:end], i)
            i = end
        elif ch in "?$" and i + 1 < n and (_is_name_char(text[i + 1]) and text[i + 1] not in ".:-"):
            end = _VAR_RUN.match(text, i + 1).end()  # type: ignore[union-attr]
            yield Token("var", text[i:end], i)
            i = end
        elif ch in _DIGITS:
            end = _scan_number(text, i)
            yield Token("number", text[i:end], i)
            i = end
        elif ch == "_" and text.startswith("_:", i):
            end = _scan_name(text, i + 2) if i + 2 < n else i + 2
            yield Token("bnode", text[i:end], i)
            i = end
        elif ch == "." and i + 1 < n and text[i + 1] in _DIGITS:
            end = _scan_number(text, i + 1)
            yield Token("number", text[i:end], i)
            i = end
        elif ch not in "." and _is_name_char(ch):
            end = _scan_name(text, i)
            yield Token("name", text[i:end], i)
            i = end
        else:
            yield Token("punct", ch, i)
            i += 1


def max_depth(toks: list[Token]) -> int:
    """Deepest nesting of ``{ ( [`` outside comments, IRIs and strings."""
    depth = deepest = 0
    for tok in toks:
        if tok.kind != "punct":
            continue
        if tok.text in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif tok.text in _CLOSE:
            depth = max(0, depth - 1)
    return deepest


def unescape_iri(body: str) -> str:
    """The IRI an IRIREF body denotes, with its ``\\u``/``\\U`` escapes decoded."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in "uU":
            width = 4 if body[i + 1] == "u" else 8
            try:
                out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            except ValueError:
                out.append(body[i : i + 2 + width])
            i += 2 + width
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def unescape_string(token_text: str) -> str:
    """The value of a string token (quotes removed, ``ECHAR`` and ``UCHAR`` escapes decoded)."""
    quote = 3 if token_text[:3] in ('"""', "'''") else 1
    body = token_text[quote:-quote]
    if "\\" not in body:
        return body
    simple = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'",
              "\\": "\\"}
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in "uU":
            width = 4 if nxt == "u" else 8
            try:
                out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
            except ValueError:
                pass
        out.append(simple.get(nxt, nxt))
        i += 2
    return "".join(out)
