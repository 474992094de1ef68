"""The default dataset: the synthetic corpus mapped onto the real reference data.

Everything here lands in the ``synthetique`` named graph and every project, partner, actor and
partnership carries ``cl:synthetique true`` so no generated record can pass for real data.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pyoxigraph as ox

from graph.namespaces import ORG, UriMinter
from graph.progress import NullProgress, Progress
from ingest.mapping import ImportInfo, Mapper
from ingest.pipeline import IngestReport, SourceBatch
from ingest.records import ActorMention, ResolvedRef
from ingest.resolver import Resolver
from ingest.synthetic.generator import SyntheticCorpus

SYNTHETIC_GRAPH = "synthetique"
_ACTOR_KIND = {
    "Association": "association",
    "Universite": "universite",
    "Hopital": "hopital",
    "Entreprise": "entreprise",
}


def synthetic_batch(
    corpus: SyntheticCorpus,
    resolver: Resolver,
    minter: UriMinter,
    *,
    seed: int,
    progress: Progress | None = None,
) -> SourceBatch:
    """Map the generated corpus (projects, partnerships, memberships, actors) to quads."""
    progress = progress or NullProgress()
    graph = minter.graph(SYNTHETIC_GRAPH)
    # The "file hash" of a generated corpus is a hash of its parameters: same seed, same URIs.
    sha = hashlib.sha256(f"synthetic:{len(corpus.projects)}:{seed}".encode()).hexdigest()
    info = ImportInfo(
        graph=graph,
        source_name=f"corpus synthétique (graine {seed}, {len(corpus.projects)} projets)",
        sha256=sha,
        started=datetime.now(UTC),
        synthetic=True,
    )
    mapper = Mapper(minter, info)
    quads: list[ox.Quad] = []
    node_graph = ox.NamedNode(graph)
    report = IngestReport(file=info.source_name, graph=graph)

    for actor in corpus.actors:
        # same URI the resolver mints for an actor named in a project (slug of the name)
        ref = ResolvedRef(uri=minter.actor(actor.name), name=actor.name, resolved=True)
        extra = mapper.country_link(ref.uri, actor.country)
        quads += mapper.entity(ref, actor.cls, extra, known=False)

    projects = []
    for raw in progress.track(corpus.projects, "Projets synthétiques"):
        project = resolver.resolve(raw, "synthetique")
        # synthetic actors are named by key through ActorMention.kind; resolve them to their URIs
        projects.append(project)
        quads += mapper.project(project)

    for record in progress.track(corpus.partnerships, "Jumelages et conventions"):
        french, _ = resolver.authority(record.french)
        foreign = resolver.partner(
            record.foreign, [record.foreign.country] if record.foreign.country else []
        )
        extra = mapper.country_link(foreign.uri, foreign.country)
        quads += mapper.entity(foreign, "CollectiviteEtrangere", extra, known=False)
        _, pquads = mapper.partnership(french, foreign, record.kind, record.year)
        quads += pquads

    has_member = ox.NamedNode(ORG + "hasMember")
    member_of = ox.NamedNode(ORG + "memberOf")
    for membership in corpus.memberships:
        member, _ = resolver.authority(membership.member)
        network = ox.NamedNode(minter.network(membership.network_key))
        quads.append(ox.Quad(network, has_member, ox.NamedNode(member.uri), node_graph))
        quads.append(ox.Quad(ox.NamedNode(member.uri), member_of, network, node_graph))

    report.records_read = report.records_landed = len(projects)
    report.project_ids = [p.id for p in projects]
    provenance = mapper.provenance(minter.graph("meta"), len(projects))
    return SourceBatch(graph, quads, provenance, report, projects)


__all__ = ["SYNTHETIC_GRAPH", "ActorMention", "synthetic_batch"]
