"""Dedupe: decides for each raw article canonical or duplicate-of, and its story, in the
memory of the one process that holds the judge's lease."""
