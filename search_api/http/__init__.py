"""The HTTP wing: routers, pages, templates, content negotiation, VoID and dumps.

Each router takes the ``KnowledgeBase``; ``search_api.app`` puts them together."""
