"""Ingestion pipeline: find files, load them as articles, chunk them, and index the chunks."""
