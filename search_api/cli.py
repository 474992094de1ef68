"""``cooplink`` command line: a thin shell over :class:`KnowledgeBase`.

Every command takes ``--data-dir`` (env ``COOPLINK_DATA_DIR``).  User mistakes print one plain
French sentence on stderr and exit non-zero — never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichBar
from rich.table import Table
from typer.core import TyperGroup

from graph.errors import BadRequest, CooplinkError, storage_error
from graph.push import PushReport
from ingest.records import count_kinds, summary_sentence
from search_api.app import create_app, server_options
from search_api.http.errors import french_problem, problems_sentence
from search_api.http.search_routes import search_data
from search_api.knowledge_base import KnowledgeBase
from search_api.outcome import IngestOutcome
from search_api.search.params import SearchParams
from search_api.settings import Settings, settings_markdown

# soft_wrap: messages carry paths and commands a user copies; never break them mid-word.
err = Console(stderr=True, soft_wrap=True)
out = Console()


def _fail(exc: CooplinkError) -> typer.Exit:
    err.print(f"[red]Erreur :[/red] {exc.message}", highlight=False)
    return typer.Exit(exc.exit_code)


def _search_params(**values: object) -> SearchParams:
    """:class:`SearchParams` from options, its pydantic checks told as a project error."""
    try:
        return SearchParams.model_validate(values)
    except ValidationError as exc:
        problems = [french_problem(dict(e)) for e in exc.errors()]
        raise BadRequest(problems_sentence(problems)) from None


class _Commands(TyperGroup):
    """Every command: a project error met anywhere (an encoder that cannot load, a bad
    parameter…) prints its French message and exits with its code, never a traceback."""

    def invoke(self, ctx: Any) -> Any:  # ctx: the click Context typer vendors
        try:
            return super().invoke(ctx)
        except CooplinkError as exc:
            raise _fail(exc) from None


app = typer.Typer(
    name="cooplink",
    help="Graphe de connaissances de la coopération décentralisée française.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Commands,
)

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Dossier des données (défaut : $COOPLINK_DATA_DIR ou ./var)."),
]
StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="Puis envoyer la génération publiée au store distant à cette "
                                 "URL de point d'accès SPARQL (comme « cooplink push --to »)."),
]
FORMATS = ("csv", "tsv", "json", "xml", "ttl", "nt", "jsonld", "rdfxml")
T = TypeVar("T")


class RichProgress:
    """A rich progress bar on stderr; use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar = RichBar(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        task = self._bar.add_task(description, total=total)
        for item in items:
            yield item
            self._bar.advance(task)
        self._bar.update(task, completed=total if total is not None else 0)

    def step(self, description: str) -> None:
        task = self._bar.add_task(description, total=1)
        self._bar.update(task, completed=1)


def _kb(data_dir: Path | None, **overrides: object) -> KnowledgeBase:
    return KnowledgeBase(Settings().with_overrides(data_dir=data_dir, **overrides))


@app.command()
def build(
    data_dir: DataDirOpt = None,
    projects: Annotated[int | None, typer.Option(help="Nombre de projets synthétiques.")] = None,
    seed: Annotated[int | None, typer.Option(help="Graine du générateur.")] = None,
    if_absent: Annotated[
        bool, typer.Option("--if-absent", help="Ne rien faire si un graphe existe déjà.")
    ] = False,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="Index de recherche rapide d'abord (secondes) ; « cooplink serve » calcule "
            "ensuite l'index complet en arrière-plan.",
        ),
    ] = False,
    store: StoreOpt = None,
) -> None:
    """Construire le jeu de données par défaut (référentiels réels + corpus synthétique)."""
    kb = _kb(data_dir)
    if if_absent and kb.datadir.exists():
        err.print(f"Graphe déjà présent dans {kb.datadir.root} — rien à faire.")
        return
    try:
        with RichProgress(err) as progress:
            manifest = kb.build(projects=projects, seed=seed, progress=progress, quick=quick)
    except CooplinkError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _fail(storage_error(exc, kb.datadir.root, "construction")) from None
    err.print(
        f"[green]Graphe construit[/green] : {manifest['projects']} projets "
        f"({manifest['synthetic_projects']} synthétiques), {manifest['triples']} triplets, "
        f"en {manifest['build_seconds']} s — {kb.datadir.root}"
    )
    if store:
        _push(kb, store)


def _print_outcome(outcome: IngestOutcome) -> None:
    for file, reason in outcome.unreadable:
        err.print(f"[red]Fichier refusé[/red] {file} : {reason}", highlight=False)
    kept = "valide(s) mais non écrit(s)" if outcome.write_error else "retenu(s)"
    for report in outcome.reports:
        err.print(
            f"[bold]{report.file}[/bold] : {report.records_landed} enregistrement(s) {kept}, "
            f"{report.rejected_records} rejeté(s), {len(report.warnings)} avertissement(s)",
            highlight=False,
        )
        if report.rejected:
            table = Table("emplacement", "motif", title="Rejets", title_justify="left")
            for issue in report.rejected:
                table.add_row(issue.location(), issue.reason)
            err.print(table)
        if report.warnings:  # issue 12: the counts by kind first, the detail below
            err.print(f"Avertissements : {summary_sentence(count_kinds(report.warnings))}")
            table = Table(
                "emplacement", "avertissement", title="Avertissements", title_justify="left"
            )
            for issue in report.warnings[:50]:
                table.add_row(issue.location(), issue.reason)
            if len(report.warnings) > 50:
                table.add_row("…", f"{len(report.warnings) - 50} de plus dans le rapport JSON")
            err.print(table)
    if outcome.write_error:
        err.print(f"[red]Erreur :[/red] {outcome.write_error}", highlight=False)
    if outcome.report_note:
        err.print(f"[yellow]Attention :[/yellow] {outcome.report_note}", highlight=False)
    if outcome.report_path:
        err.print(f"Rapport JSON : {outcome.report_path}", highlight=False)


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Fichiers DAECT (CSV/XLSX) ou IATI (XML).")],
    data_dir: DataDirOpt = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Remplacer le graphe nommé de la source.")
    ] = False,
    store: StoreOpt = None,
) -> None:
    """Charger des fichiers dans le graphe (un graphe nommé par fichier source)."""
    kb = _kb(data_dir)
    try:
        with RichProgress(err) as progress:
            outcome = kb.ingest(files, replace=replace, progress=progress)
    except CooplinkError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _fail(storage_error(exc, kb.datadir.root, "import")) from None
    _print_outcome(outcome)
    if store and outcome.generation is not None:
        _push(kb, store)
    raise typer.Exit(outcome.exit_code)


def _push(kb: KnowledgeBase, to: str | None) -> PushReport:
    """Send the served generation to ``to`` and print what landed (graph by graph)."""
    with RichProgress(err) as progress:
        report = kb.push(to, progress)
    table = Table("graphe nommé", "génération", "store distant",
                  title=f"Envoi vers {report.endpoint}", title_justify="left")
    for graph, count in report.expected.items():
        table.add_row(graph, str(count), str(report.loaded.get(graph, 0)))
    for graph in report.removed:
        table.add_row(graph, "—", f"retiré ({report.loaded.get(graph, 0)})")
    err.print(table)
    how = ("chargeur en masse de Virtuoso" if report.method == "bulk"
           else "requêtes SPARQL Update (INSERT DATA)")
    err.print(f"[green]Envoyé[/green] : {report.triples} triplets dans "
              f"{len(report.expected)} graphes en {report.seconds} s, par {how} ; comptes "
              "vérifiés sur le store distant.", highlight=False)
    return report


@app.command()
def push(
    to: Annotated[str | None, typer.Option(
        "--to", help="URL du point d'accès SPARQL du store distant (défaut : "
                     "$COOPLINK_SPARQL_ENDPOINT), ex. http://127.0.0.1:8890/sparql.")] = None,
    data_dir: DataDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Rapport JSON sur stdout.")] = False,
) -> None:
    """Envoyer la génération servie (tous les graphes nommés, dont la provenance) au store
    distant, en masse, puis vérifier les comptes de triplets graphe par graphe. Écritures :
    COOPLINK_SPARQL_UPDATE_ENDPOINT, COOPLINK_SPARQL_USER et COOPLINK_SPARQL_PASSWORD, ou le
    chargeur de Virtuoso (COOPLINK_VIRTUOSO_ISQL et COOPLINK_VIRTUOSO_LOAD_DIR) ; docs/deploy.md."""
    report = _push(_kb(data_dir), to)
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Fichiers à vérifier.")],
    data_dir: DataDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Rapport en JSON sur stdout.")] = False,
) -> None:
    """Vérifier des fichiers sans rien écrire."""
    kb = _kb(data_dir)
    try:
        with RichProgress(err) as progress:
            outcome = kb.prepare(files, progress=progress)
    except CooplinkError as exc:
        raise _fail(exc) from None
    if as_json:
        out.print_json(json.dumps(outcome.as_dict(), ensure_ascii=False))
    else:
        _print_outcome(outcome)
    raise typer.Exit(outcome.exit_code)


@app.command()
def sparql(
    query: Annotated[str, typer.Argument(help="Requête SPARQL, ou chemin d'un fichier .rq.")],
    data_dir: DataDirOpt = None,
    fmt: Annotated[
        str, typer.Option("--format", help=f"Format de sortie : {', '.join(FORMATS)}.")
    ] = "csv",
) -> None:
    """Exécuter une requête SPARQL sur le graphe (résultats sur stdout)."""
    kb = _kb(data_dir)
    text = query
    if len(query) < 4096 and not query.lstrip().upper().startswith(
        ("SELECT", "PREFIX", "ASK", "CONSTRUCT", "DESCRIBE", "BASE")
    ):
        path = Path(query)
        if path.is_file():
            text = path.read_text("utf-8")
    if fmt not in FORMATS:
        raise _fail(CooplinkError(f"format « {fmt} » inconnu (formats : {', '.join(FORMATS)})"))
    try:
        outcome = kb.query(text)
        data = outcome.serialize(fmt if not (outcome.kind == "graph" and fmt == "csv") else "ttl")
    except CooplinkError as exc:
        raise _fail(exc) from None
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Texte recherché (vide : liste filtrée).")] = "",
    data_dir: DataDirOpt = None,
    country: Annotated[
        list[str] | None, typer.Option("--country", help="Pays (code ISO, ex. SN), répétable.")
    ] = None,
    theme: Annotated[
        list[str] | None, typer.Option("--theme", help="Thème (ex. sante), répétable.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Nombre de résultats.")] = 10,
    places: Annotated[
        bool,
        typer.Option("--places/--no-places",
                     help="Comprendre les lieux nommés (« en Tunisie », « au Sahel »)."),
    ] = True,
    sort: Annotated[
        str, typer.Option("--sort", help="Ordre : relevance (pertinence), recent, cost.")
    ] = "relevance",
    as_json: Annotated[
        bool, typer.Option("--json", help="Réponse JSON de l'API sur stdout.")
    ] = False,
) -> None:
    """Rechercher des projets par le sens et les mots-clés."""
    kb = _kb(data_dir)
    # the API's own parameters (and checks), so the CLI searches exactly as /api/search does
    params = _search_params(q=text, country=country, theme=theme, limit=str(limit),
                            places=None if places else "off", sort=sort)
    result = search_data(kb, params)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    for place in result.understood.places:
        err.print(f"{place.kind_label} : {place.label} (« {place.text} »)", highlight=False)
    table = Table(
        "score",
        "id",
        "projet",
        "collectivités",
        "pays",
        "années",
        title=f"{result.total} résultat(s), dont {result.relevant_total} proche(s)",
        title_justify="left",
    )
    for r in result.results:
        years = "–".join(str(y) for y in (r.start_year, r.end_year) if y is not None)
        table.add_row(
            "" if r.score is None else f"{r.score:.2f}",
            r.id,
            r.title,
            ", ".join(a.name for a in r.french_authorities),
            ", ".join(r.countries),
            years,
        )
    out.print(table)


@app.command("upgrade-search")
def upgrade_search(data_dir: DataDirOpt = None) -> None:
    """Calculer les index de recherche de meilleure qualité du graphe servi (après un
    « build --quick ») ; chacun remplace l'index servi dès qu'il est prêt."""
    kb = _kb(data_dir)
    try:
        with RichProgress(err) as progress:
            done = kb.upgrade_search(progress)
    except CooplinkError as exc:
        raise _fail(exc) from None
    if done:
        err.print(f"[green]Index de recherche servi[/green] : {done[-1]}", highlight=False)
    else:
        err.print("L'index de recherche servi est déjà le plus complet.")


def _start_upgrade(kb: KnowledgeBase) -> subprocess.Popen[bytes] | None:
    """Start ``cooplink upgrade-search`` at low priority when the served index comes from a
    quick tier, so the full-quality one is computed while the server answers (issue 9)."""
    if not kb.settings.search_background_upgrade or kb.datadir.current() is None:
        return None
    if kb.search_tier()["full"]:
        return None
    err.print("Index de recherche rapide servi ; calcul de l'index complet en arrière-plan…")
    command = [sys.executable, "-m", "search_api.cli", "upgrade-search",
               "--data-dir", str(kb.datadir.root)]
    return subprocess.Popen(command, preexec_fn=lambda: os.nice(10))


@app.command()
def serve(
    data_dir: DataDirOpt = None,
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Servir l'API et les pages sur http://HOST:PORT."""
    kb = _kb(data_dir, host=host, port=port)
    upgrade = _start_upgrade(kb)
    try:
        uvicorn.run(create_app(kb, warm_pages=True), host=kb.settings.host, port=kb.settings.port,
                    log_level="info", **server_options(kb.settings))
    finally:
        if upgrade is not None and upgrade.poll() is None:
            upgrade.terminate()


@app.command("settings")
def show_settings(
    markdown: Annotated[bool, typer.Option("--markdown", help="Tableau Markdown.")] = False,
) -> None:
    """Afficher les réglages (valeurs effectives) ou leur documentation."""
    if markdown:
        sys.stdout.write(settings_markdown())
        return
    out.print_json(Settings().model_dump_json())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
