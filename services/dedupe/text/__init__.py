"""Text work on one article: cleaning, normalising, shingles, signature, terms; no I/O."""
