"""The JetStream side of Hive: connections, stream set-up and the event store."""
