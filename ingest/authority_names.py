"""How people name French authorities, as look-up keys derived from the COG names.

The COG writes « CA Mulhouse Alsace Agglomération », « CU du Grand Poitiers », « Métropole du
Grand Nancy »; spreadsheets write « Mulhouse Alsace Agglomération », « Grand Poitiers
Communauté urbaine », « Agglo Pays Basque », « Grand Nancy », « Ville de St-Étienne »,
« CD 93 ».  Rather than a hand list, every EPCI name yields its variants here (issue 12):

- the *official* key (:func:`ingest.normalise.name_key`) and its EPCI canonical form
  (« communauté d'agglomération du X » → « ca x »);
- *usual* keys: the name without its legal-form prefix (« grand poitiers »), an acronym in
  parentheses (« copamo »), a quoted usual name (« agglopolys »);
- a *core*: the name without any legal-form word at either end nor article (« mulhouse alsace »,
  « ales », « paris saclay »), matched only when the text itself names an EPCI (« Agglo »,
  « Métropole », « Communauté… ») or the type column says intercommunalité, because the core of
  « CA Alès Agglomération » is also the commune of Alès.

All functions work on keys (:func:`name_key` output): lower case, no accents, no punctuation.
"""

from __future__ import annotations

import re

from ingest.normalise import name_key

#: Leading words naming the kind of authority -> the type they imply (tried longest first).
DESIGNATORS = sorted(
    [(w, "departement") for w in ("conseil departemental", "conseil general", "departement")]
    + [(w, "region") for w in ("conseil regional", "region", "collectivite territoriale")]
    + [
        (w, "commune")
        for w in ("la ville", "ville", "commune", "mairie", "municipalite", "hotel de ville")
    ]
    + [("cd", "departement"), ("cg", "departement"), ("cr", "region")]
    + [("etablissement public territorial", "intercommunalite"), ("ept", "intercommunalite")],
    key=lambda pair: -len(pair[0]),
)
#: Article after a designator -> the article the official name may start with.
ARTICLES = {"de la": "la", "de l": "l", "du": "le", "des": "les", "de": "", "d": ""}
#: Spelled-out EPCI kinds -> the COG's abbreviations ("CA du Grand Angoulême").
_EPCI_WORDS = {
    "communaute d agglomeration": "ca", "communaute de communes": "cc",
    "communaute urbaine": "cu", "agglomeration": "ca", "agglo": "ca",
}  # fmt: skip
#: Words that say « this is an intercommunalité » wherever they stand in a name.
_EPCI_MARKERS = frozenset(
    {"ca", "cc", "cu", "agglo", "agglomeration", "communaute", "metropole", "eurometropole", "ept"}
)
_LEGAL = (
    r"communaute d agglomeration|communaute de communes|communaute urbaine|communaute|"
    r"agglomeration|agglo|metropole|eurometropole|etablissement public territorial|ept|ca|cc|cu"
)
_LEGAL_HEAD = re.compile(rf"^(?:{_LEGAL}|de la|de l|du|des|de|d|la|le|les|l)(?: |$)")
_LEGAL_TAIL = re.compile(
    r" (?:communaute d agglomeration|communaute de communes|"
    r"communaute urbaine|communaute|agglomeration|agglo|metropole)$"
)
_PREFIX = re.compile(r"^(?:ca|cc|cu|metropole|eurometropole)(?: (de la|de l|du|des|de|d))? ")
_ARTICLE = re.compile(r"^(?:la|le|les|l) ")
_PARENS = re.compile(r"\(([^()]+)\)")
_QUOTED = re.compile(r"(?:''|\"|«)\s*([^'\"»]+?)\s*(?:''|\"|»)")
#: « CD 93 », « CD93 », « Conseil départemental 93 », « Département 2A »: a designator + a code.
DESIGNATED_CODE = re.compile(
    r"^(conseil departemental|conseil general|departement|cd|cg|conseil regional|region|cr)"
    r" ?(\d{2,3}|2[ab])$"
)


def epci_canonical(key: str) -> str:
    """« ca du grand angouleme » and « ca grand angouleme » share a key (article dropped)."""
    for words, abbreviation in _EPCI_WORDS.items():
        if key.startswith(words + " "):
            key = abbreviation + key[len(words) :]
            break
    head, _, rest = key.partition(" ")
    if head in ("ca", "cc", "cu"):
        rest = re.sub(r"^(?:de la|de l|du|des|de|d) ", "", rest)
        return f"{head} {rest}"
    return key


def epci_core(key: str) -> str:
    """The name once every legal-form word and article is gone from both ends.

    « ca l agglo foix varilhes » → « foix varilhes »; « grand poitiers communaute urbaine » →
    « grand poitiers »; « metropole du grand nancy » → « grand nancy ».
    """
    previous = None
    while previous != key:
        previous = key
        key = _LEGAL_HEAD.sub("", key)
        key = _LEGAL_TAIL.sub("", key)
    return key


def core_words(core: str) -> frozenset[str]:
    """The words of a core that say something (no legal-form word, no article)."""
    return (
        frozenset(core.split()) - _EPCI_MARKERS - {"de", "du", "des", "d", "la", "le", "les", "l"}
    )


def names_an_epci(key: str) -> bool:
    """Whether the text itself says it is an intercommunalité (« Agglo », « Métropole »…)."""
    return bool(_EPCI_MARKERS.intersection(key.split())) or key.startswith(
        "etablissement public territorial "
    )


def official_keys(name: str, is_epci: bool) -> set[str]:
    """Keys of the COG name itself (and its EPCI canonical form)."""
    key = name_key(name)
    return {key, epci_canonical(key)} if is_epci else {key}


def usual_keys(name: str) -> set[str]:
    """Usual names derived from an EPCI's COG name: without its legal-form prefix, without a
    parenthesis, the acronym inside it, a quoted usual name."""
    keys: set[str] = set()
    for text in (name, _PARENS.sub(" ", name)):
        key = name_key(text)
        keys.add(key)
        prefix = _PREFIX.match(key)
        if prefix:  # « ca de la rochelle » → « rochelle » and « la rochelle »
            rest = key[prefix.end() :]
            keys.add(rest)
            keys.add(f"{ARTICLES[prefix[1]]} {rest}".strip() if prefix[1] else rest)
    keys.update(name_key(inner) for inner in _PARENS.findall(name))
    keys.update(name_key(quoted) for quoted in _QUOTED.findall(name))
    keys.discard("")
    return keys


def strip_article(key: str) -> str:
    """« la reunion » → « reunion », « le cotentin » → « cotentin »."""
    return _ARTICLE.sub("", key)


def strip_designator(key: str) -> tuple[list[str], str | None]:
    """Name keys to try once « Ville de », « Conseil départemental du »… is removed.

    « departement du nord » -> ["nord", "le nord"]; « ville du havre » -> ["havre", "le havre"];
    the EPCI form of the key comes first (« communaute d agglomeration du x » -> « ca x »).
    """
    variants = [epci_canonical(key)]
    for words, kind in DESIGNATORS:
        if not key.startswith(words + " "):
            continue
        rest = key[len(words) + 1 :]
        for article, official in ARTICLES.items():
            if rest.startswith(article + " "):
                core = rest[len(article) + 1 :]
                return [*variants, core, f"{official} {core}".strip()], kind
        return [*variants, rest], kind
    return variants, None


def split_code(key: str) -> str:
    """« cd93 » → « cd 93 »: a designator glued to its département number."""
    return re.sub(r"^(cd|cg|cr)(\d{2,3}|2[ab])$", r"\1 \2", key)
