"""Hive core: event catalog, pure aggregates, the JetStream event store, the coordinator and the CLI."""
