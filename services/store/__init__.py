"""Store: persists verdicts (canonical articles and the duplicates index) and serves them."""
