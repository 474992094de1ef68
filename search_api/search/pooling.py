"""Pooling (« mutualisation »): which French authorities to put in touch, for a country and theme.

Issue 9: the first group of the old view held 24 projects and 28 authorities under a run-on
heading, mixing latrines, boreholes and piped mains. A group a staff member can act on says what
its projects share and stays small, so groups here are of three kinds, each titled by what it
shares:

* ``partner`` — projects with the same foreign partner (« Même partenaire : Commune de
  Saint-Louis »): the authorities already work with the same town.
* ``province`` — projects whose partners lie in the same province or région (« Même région
  partenaire : Région de Ziguinchor »), from at least two different partners.
* ``subtopic`` — projects doing the same thing (« Sous-thème : forages, pompes »): average-linkage
  clusters over a similarity that mixes the document vectors and the words the projects share
  (TF-IDF within the selected set, so the theme's common words weigh nothing), titled by their
  distinctive terms — class-based TF-IDF of the group against the selected set, written as the
  projects write them. A cluster with no term shared by half its projects is ``similar``
  (« Projets proches »).

Every group holds at most :data:`MAX_GROUP` projects (larger ones are cut by the same
clustering, capped) and at least two different French authorities (pooling puts *different*
authorities in touch); groups are sorted by usefulness: distinct authorities, then coherence.
Each group lists its contacts: every French authority with its networks, the start years of its
projects in the group and their amounts (sum of project costs and of ministry co-financing; a
project led by two authorities counts for each, as the graph does not split it).
"""

from __future__ import annotations

import hashlib
import math
import statistics
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from graph.errors import NotFound
from search_api.search._clustering import MAX_CLUSTERED, average_linkage, mean_pairwise, split
from search_api.search.answers import (
    Contact,
    GroupShared,
    NetworkRef,
    PoolingAnswer,
    PoolingGroup,
    ProvinceRef,
    partner_ref,
)
from search_api.search.documents import Authority, Network, Partner, ProjectDoc
from search_api.search.search_index import SearchIndex

#: At most this many projects per group: a staff member can call a dozen authorities.
MAX_GROUP = 12
#: Sub-topic clusters merge while their average similarity stays this many spreads above the
#: average pair of the selected set (both halves of the similarity standardised within it).
SUBTOPIC_Z = 1.5
#: Share of the document vectors in that similarity (the rest: shared words, TF-IDF).
DENSE_SHARE = 0.25
TITLE_TERMS = 3
#: Title words score at least this share of the best one.
TERM_FLOOR = 0.5
#: A word of a project's title counts this many times in the TF-IDF half of the similarity.
TITLE_WEIGHT = 8
#: Words of any cooperation project's title, whatever it does (« Programme Pia–Ngumalouf :
#: Service public de l'eau, phase 2 »): never a sub-topic.
BOILERPLATE = ("programme projet phase étape volet partenariat coopération jumelage secteur "
               "collectivité commune")
#: Projects whose word analysis is kept between requests.
ANALYSIS_CACHE = 4000  # about 10 kB each
Kind = Literal["partner", "province", "subtopic", "similar"]
KINDS: tuple[Kind, ...] = ("partner", "province", "subtopic", "similar")
_ID_PREFIX = {"partner": "partenaire", "province": "province", "subtopic": "sous-theme",
              "similar": "proches"}


def network_ref(network: Network) -> NetworkRef:
    """A network of an authority, as the answer gives it."""
    return NetworkRef(name=network.name, uri=network.uri, kind=network.kind,
                      acronym=network.acronym, label=network.label)


def _total(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present), 2) if present else None


def contacts(docs: list[ProjectDoc]) -> list[Contact]:
    """Every French authority of ``docs`` with its networks, years, amounts and projects,
    most projects first. Amounts add up the projects in euros only (``currency`` EUR or
    unknown); a project co-led by two authorities counts for both."""
    by_uri: dict[str, tuple[Authority, list[ProjectDoc]]] = {}
    for doc in docs:
        for authority in doc.authorities:
            by_uri.setdefault(authority.uri, (authority, []))[1].append(doc)
    out: list[Contact] = []
    for authority, projects in by_uri.values():
        euros = [d for d in projects if (d.currency or "EUR") == "EUR"]
        out.append(Contact(
            name=authority.name, uri=authority.uri, type=authority.type,
            networks=[network_ref(n) for n in authority.networks],
            years=sorted({d.start_year for d in projects if d.start_year is not None}),
            amount=_total(d.total_cost for d in euros),
            cofinancing=_total(d.ministry_cofinancing for d in euros),
            currency="EUR",
            projects=[d.id for d in projects],
        ))
    out.sort(key=lambda c: (-len(c.projects), c.name, c.uri))
    return out


@dataclass
class _Group:
    kind: Kind
    members: list[int]  # rows of the selected set
    key: str = ""  # partner URI, province code
    shared: GroupShared = field(default_factory=GroupShared)
    #: a sub-topic's words, found before it is cut (its parts keep them); None: not yet read
    terms: list[str] | None = None
    part: tuple[int, int] | None = None


@dataclass(frozen=True)
class _Analysed:
    """One project's words for pooling: weighted stem counts, surface forms, title stems."""

    counts: Counter[str]
    surface: dict[str, str]  # stem → the word as this project writes it most
    title: dict[str, int]  # title stems → first position in the title


def analyse(index: SearchIndex, doc: ProjectDoc) -> _Analysed:
    """A project's words without its names and the words every project title may use, title
    words counted TITLE_WEIGHT times."""
    analyzer = index.keyword.analyzer
    country_labels = index.vocab.get("country", {})
    names = {s for text in [*(a.name for a in doc.authorities), *(p.name for p in doc.partners),
                            *(country_labels.get(c, c) for c in doc.countries), BOILERPLATE]
             for s in analyzer.stems(text)}
    words: dict[str, Counter[str]] = {}
    for stem, start, end in analyzer.words(doc.text):
        if stem not in names:
            words.setdefault(stem, Counter())[doc.text[start:end].lower()] += 1
    title: dict[str, int] = {}
    for position, stem in enumerate(analyzer.stems(doc.title)):
        if stem not in names:
            title.setdefault(stem, position)
    counts = Counter({s: sum(c.values()) + (TITLE_WEIGHT - 1) * (s in title)
                      for s, c in words.items()})
    surface = {s: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for s, c in words.items()}
    return _Analysed(counts, surface, title)


class _Texts:
    """Stems and surface words of the selected projects, and TF-IDF within the set.

    A project's title names what it does (« Latrines scolaires et lavage des mains »,
    « Réhabilitation des forages ») where its description also tells the context, the
    partner and the follow-up: title words count :data:`TITLE_WEIGHT` times. Names are not
    sub-topics: the words of the project's authorities, partners and countries are left out,
    or « ziguinchor » would make a sub-topic."""

    def __init__(self, analysed: list[_Analysed]) -> None:
        self.surface = [a.surface for a in analysed]
        self.in_title = [a.title for a in analysed]
        counts = [a.counts for a in analysed]
        self.stems = [set(c) for c in counts]
        self.df: Counter[str] = Counter(s for stems in self.stems for s in stems)
        n = len(analysed)
        vocab = sorted(s for s, df in self.df.items() if 1 < df < n)
        column = {s: i for i, s in enumerate(vocab)}
        matrix = np.zeros((n, len(vocab)))
        for row, c in enumerate(counts):
            for stem, tf in c.items():
                if stem in column:
                    matrix[row, column[stem]] = (1 + math.log(tf)) * math.log(n / self.df[stem])
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.vectors = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

    def terms(self, members: list[int], limit: int = TITLE_TERMS) -> list[tuple[str, str]]:
        """(stem, word) of the group's distinctive terms, best first: class-based TF-IDF, the
        squared share of the group's projects using the stem (a title use counting double)
        × its idf within the selected set — squared so that a word the whole group uses beats
        one only half of it uses, which a title needs — kept when at least half the group (and
        two projects) use it."""
        n, size = len(self.stems), len(members)
        inside: Counter[str] = Counter(s for m in members for s in self.stems[m])
        titled: Counter[str] = Counter(s for m in members for s in self.in_title[m])
        needed = max(2, math.ceil(size / 2))
        scored = [(((inside[s] + titled[s]) / (2 * size)) ** 2 * math.log(n / self.df[s]), s)
                  for s in inside if inside[s] >= needed and self.df[s] < n]
        scored.sort(key=lambda item: (-item[0], item[1]))
        # A word far behind the first says little (« assainissement autonome, collectivité »).
        scored = [item for item in scored if item[0] >= TERM_FLOOR * scored[0][0]]
        chosen = [stem for _, stem in scored[:limit]]

        def reading_order(stem: str) -> tuple[float, int]:
            # Title words in the order the titles write them (« hydraulique villageoise »,
            # not « villageoise, hydraulique »), the others after, best first.
            places = [self.in_title[m][stem] for m in members if stem in self.in_title[m]]
            return (statistics.median(places) if places else math.inf, chosen.index(stem))

        out = []
        for stem in sorted(chosen, key=reading_order):
            forms = Counter(self.surface[m][stem] for m in members if stem in self.surface[m])
            out.append((stem, min(forms.items(), key=lambda kv: (-kv[1], kv[0]))[0]))
        return out


def _standardised(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` in spreads above the mean of its off-diagonal entries."""
    n = len(matrix)
    if n < 3:
        return np.zeros_like(matrix)
    off = matrix[~np.eye(n, dtype=bool)]
    return (matrix - off.mean()) / (off.std() or 1.0)


class Pooling:
    """Pooling groups over one index (see the module docstring)."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        # Analysing the words of 1,000 projects takes most of a request's time; the same
        # countries and themes come back, so analyses are kept (a plain dict, emptied when full:
        # a rare slow request rather than an LRU's bookkeeping on every hit).
        self._analysed: dict[int, _Analysed] = {}
        self._lock = threading.Lock()

    def _analyses(self, positions: list[int]) -> list[_Analysed]:
        out = []
        for position in positions:
            found = self._analysed.get(position)
            if found is None:
                found = analyse(self.index, self.index.docs[position])
                with self._lock:
                    if len(self._analysed) >= ANALYSIS_CACHE:
                        self._analysed.clear()
                    self._analysed[position] = found
            out.append(found)
        return out

    def pool(self, positions: np.ndarray) -> PoolingAnswer:
        """``total``, ``authorities`` and ``clusters`` for the projects at ``positions``."""
        index = self.index
        docs = [index.docs[int(p)] for p in positions]
        chosen = [int(p) for p in positions[:MAX_CLUSTERED]]
        groups = self._groups(chosen) if len(chosen) >= 2 else []
        return PoolingAnswer(total=len(docs), authorities=contacts(docs), clusters=groups)

    def _groups(self, positions: list[int]) -> list[PoolingGroup]:
        index = self.index
        docs = [index.docs[p] for p in positions]
        texts = _Texts(self._analyses(positions))
        vectors = index.doc_vectors[positions]
        dense = vectors @ vectors.T
        similarity = (DENSE_SHARE * _standardised(dense)
                      + (1 - DENSE_SHARE) * _standardised(texts.vectors @ texts.vectors.T))
        candidates = [*self._structural(docs), *self._subtopics(similarity, texts)]
        seen: set[frozenset[int]] = set()
        out = []
        for group in candidates:
            for part in self._parts(group, similarity):
                members = frozenset(part.members)
                if members in seen or not _worth_pooling([docs[m] for m in part.members]):
                    continue
                seen.add(members)
                out.append(self._describe(part, docs, texts, dense, similarity))
        out.sort(key=lambda g: (-len(g.contacts), -g.coherence, KINDS.index(g.kind), g.id))
        return out

    @staticmethod
    def _structural(docs: list[ProjectDoc]) -> list[_Group]:
        """Same-partner groups, then same-province groups of two partners or more."""
        by_partner: dict[str, list[int]] = {}
        by_province: dict[str, list[int]] = {}
        partner_of: dict[str, Partner] = {}
        for row, doc in enumerate(docs):
            for partner in doc.partners:
                by_partner.setdefault(partner.uri, []).append(row)
                partner_of[partner.uri] = partner
                if partner.province:
                    rows = by_province.setdefault(partner.province, [])
                    if row not in rows:
                        rows.append(row)
        out = []
        for uri, rows in sorted(by_partner.items()):
            p = partner_of[uri]
            out.append(_Group("partner", rows, uri, GroupShared(partner=partner_ref(p))))
        for code, rows in sorted(by_province.items()):
            partners = {p.uri: p for r in rows for p in docs[r].partners if p.province == code}
            if len(partners) < 2:  # one partner: the same-partner group says it already
                continue
            label = next(iter(partners.values())).province_name or code
            listed = sorted(partners.values(), key=lambda p: (p.name, p.uri))
            out.append(_Group("province", rows, code, GroupShared(
                province=ProvinceRef(code=code, name=label),
                partners=[partner_ref(p) for p in listed])))
        return out

    @staticmethod
    def _subtopics(similarity: np.ndarray, texts: _Texts) -> list[_Group]:
        """Sub-topics: average-linkage clusters, titled by their terms before a cluster of
        more than MAX_GROUP projects is cut (its parts share the sub-topic's title)."""
        out = []
        for members in average_linkage(similarity, SUBTOPIC_Z):
            if len(members) < 2:
                continue
            words = [word for _, word in texts.terms(members)]
            out.append(_Group("subtopic" if words else "similar", members, terms=words))
        return out

    @staticmethod
    def _parts(group: _Group, similarity: np.ndarray) -> list[_Group]:
        """The group itself, or its parts of at most MAX_GROUP close projects."""
        if len(group.members) <= MAX_GROUP:
            return [group]
        rows = group.members
        parts = split(similarity[np.ix_(rows, rows)], MAX_GROUP)
        out = [_Group(group.kind, [rows[i] for i in part], group.key, group.shared, group.terms)
               for part in parts]
        for number, part in enumerate(out, start=1):
            part.part = (number, len(out))
        return out

    def _describe(self, group: _Group, docs: list[ProjectDoc], texts: _Texts,
                  dense: np.ndarray, similarity: np.ndarray) -> PoolingGroup:
        members = sorted(group.members, key=lambda m: docs[m].id)
        chosen = [docs[m] for m in members]
        words = group.terms
        if words is None:
            words = [word for _, word in texts.terms(members)]
        shared = group.shared.model_copy(update={"terms": words})
        part = group.part
        if shared.partner is not None:
            title = f"Même partenaire : {shared.partner.name}"
        elif shared.province is not None:
            title = f"Même région partenaire : {shared.province.name}"
        elif group.kind == "subtopic":
            title = "Sous-thème : " + ", ".join(words)
        else:
            title = "Projets proches"
        if part:
            title += f" ({part[0]}/{part[1]})"
        digest = hashlib.sha1(
            "\x1f".join([group.kind, group.key, *(d.id for d in chosen)]).encode()).hexdigest()
        people = contacts(chosen)
        return PoolingGroup(
            id=f"{_ID_PREFIX[group.kind]}-{digest[:10]}",
            kind=group.kind,
            title=title,
            shared=shared,
            part=list(part) if part else None,
            projects=[d.id for d in chosen],
            authorities=sorted({c.name for c in people}),
            similarity=round(mean_pairwise(dense, members), 4),
            coherence=round(mean_pairwise(similarity, members), 4),
            contacts=people,
        )


def _worth_pooling(docs: list[ProjectDoc]) -> bool:
    """Two projects or more, from at least two different French authorities, and not all
    led by the same set of authorities (those already work together)."""
    owners = {frozenset(a.uri for a in d.authorities) for d in docs}
    distinct = {a.uri for d in docs for a in d.authorities}
    return len(docs) >= 2 and len(distinct) >= 2 and len(owners) >= 2


def find_group(result: PoolingAnswer, group_id: str) -> PoolingGroup:
    """The group ``group_id`` of a pooling result (:class:`NotFound` when absent)."""
    for group in result.clusters:
        if group.id == group_id:
            return group
    raise NotFound(f"groupe de mutualisation inconnu pour ce périmètre : « {group_id} »")
