"""Ingest: the HTTP front door. Validates, extracts text, enqueues to ``articles:raw``."""
