"""The ``newsdedup`` command line."""
