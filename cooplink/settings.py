"""Settings as documented data: one typed object, every field with a default and a description.

Precedence: CLI flag > ``COOPLINK_*`` environment variable > default.  ``docs/settings.md`` is
generated from this class (``cooplink settings --markdown``) and a test fails when a field is
missing there.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.namespaces import DEFAULT_BASE_URI


class Settings(BaseSettings):
    """Every knob of cooplink.  Field descriptions are the user documentation."""

    model_config = SettingsConfigDict(env_prefix="COOPLINK_", extra="ignore")

    data_dir: Path = Field(
        Path("var"),
        description="Dossier des données (store, index, rapports). "
        "Data directory holding the store, indexes and reports.",
    )
    base_uri: str = Field(
        DEFAULT_BASE_URI,
        description="Base des URI des entités ; par défaut le serveur local, pour que les URI "
        "se déréférencent telles quelles. Base of instance URIs (changing it needs a rebuild).",
    )
    host: str = Field("127.0.0.1", description="Adresse d'écoute du serveur. Server bind address.")
    port: int = Field(8000, description="Port du serveur. Server port.")
    projects: int = Field(
        13_000,
        description="Nombre de projets du corpus synthétique par défaut. "
        "Number of projects in the default synthetic corpus.",
    )
    seed: int = Field(
        42, description="Graine du corpus synthétique. Seed of the synthetic corpus generator."
    )
    validate_shapes: bool = Field(
        True,
        description="Valider chaque enregistrement ingéré contre ontology/shapes.ttl (pyshacl). "
        "Validate ingested records against the SHACL shapes.",
    )
    max_description_chars: int = Field(
        20_000,
        description="Longueur maximale d'une description ingérée (au-delà : tronquée, avec "
        "avertissement). Longest description kept at ingest (longer ones are truncated).",
    )
    keep_stores: int = Field(
        2,
        description="Nombre de versions du store conservées sur disque après une reconstruction. "
        "How many store generations are kept on disk after a rebuild.",
    )
    sparql_timeout: float = Field(
        30.0,
        description="Durée maximale d'une requête SPARQL en secondes ; au-delà, réponse 503 et le "
        "processus de requête est relancé. Time limit of one SPARQL query, in seconds.",
    )
    sparql_max_rows: int = Field(
        100_000,
        description="Nombre maximal de lignes (ou de triplets) renvoyés par une requête SPARQL ; "
        "l'en-tête X-SPARQL-MaxRows signale la troncature. Result-row cap of one SPARQL query.",
    )
    sparql_allowed_services: list[str] = Field(
        [],
        description="Points d'accès SPARQL distants autorisés dans SERVICE (liste JSON d'URL) ; "
        "vide : SERVICE refusé. Remote endpoints a query may call with SERVICE (JSON list).",
    )
    sparql_workers: int = Field(
        2,
        description="Nombre de processus qui exécutent les requêtes SPARQL du point d'accès. "
        "Number of worker processes evaluating SPARQL endpoint queries.",
    )

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the CLI flags that were actually given (``None`` means not given)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=given)


def settings_markdown() -> str:
    """The settings table for ``docs/settings.md``."""
    lines = [
        "| setting | env | default | description |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        lines.append(
            f"| `{name}` | `COOPLINK_{name.upper()}` | `{default}` | {field.description} |"
        )
    return "\n".join(lines) + "\n"
