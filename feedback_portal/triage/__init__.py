"""Triage for business support: the untriaged queue, supplier exports, follow links, privacy and retention admin."""
