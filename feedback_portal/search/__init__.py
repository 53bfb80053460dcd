"""Search and grouping engine for the feedback portal (pure engine code: no database, no web).

- :mod:`.analysis`  the Whoosh analyzer chain and the domain synonym/concept list (admin-extendable data)
- :mod:`.engine`    :class:`SearchIndex` over a Whoosh index directory (search, facets, similar, upsert...)
- :mod:`.grouping`  :func:`cluster` untriaged feedback into suggested groups, :func:`suggest_issue`
"""

from __future__ import annotations

from .analysis import DEFAULT_SYNONYM_LINES, Synonyms, domain_analyzer, get_synonyms, set_synonyms
from .engine import Hit, QueryError, SearchIndex, SearchResults
from .grouping import IssueText, ItemText, cluster, suggest_issue

__all__ = [
    "DEFAULT_SYNONYM_LINES",
    "Hit",
    "IssueText",
    "ItemText",
    "QueryError",
    "SearchIndex",
    "SearchResults",
    "Synonyms",
    "cluster",
    "domain_analyzer",
    "get_synonyms",
    "set_synonyms",
    "suggest_issue",
]
