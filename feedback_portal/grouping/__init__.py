"""Suggestions that do most of the grouping: clusters of untriaged feedback and likely issues."""
