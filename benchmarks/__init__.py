"""Benchmarks: accuracy of the dedupe engine on a labelled corpus, and (later) throughput."""
