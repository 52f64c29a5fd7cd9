"""Dedupe: decides for each raw article canonical or duplicate-of, through a shared Redis index."""
