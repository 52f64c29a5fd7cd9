"""The judge and the text work as a service: lease, reading, the fold's process, commit,
journal, snapshots."""
