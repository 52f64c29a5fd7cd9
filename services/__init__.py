"""The newsdedup services and the command line that runs them."""
