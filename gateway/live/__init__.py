"""Live events over WebSocket: topics, the per-process hub fed by JetStream, per-client queues, replay."""
