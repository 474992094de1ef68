"""The search domain: encoders, documents, indexes, ranking, places, comparison, clustering.

It reads the graph (``graph/``) and nothing of the HTTP wing, the settings or the
``KnowledgeBase``, which hand it what it needs (docs/architecture.md)."""
