"""The contract between the newsdedup services: messages, stream names, settings, connections."""
