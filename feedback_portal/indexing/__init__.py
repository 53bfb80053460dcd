"""Keeping the search index in step with the database: the change log, the indexer and reindex."""
