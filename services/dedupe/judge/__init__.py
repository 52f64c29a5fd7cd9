"""The judge: every article's verdict and story, a deterministic fold over the articles in
ingest order."""
