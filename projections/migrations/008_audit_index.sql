-- The audit index: one row per event in the log, so GET /api/audit can filter by aggregate, actor, type and
-- time without reading the whole log. Payloads stay in the log (the gateway reads them by seq): the index is
-- a finder, never a second copy of the history.
CREATE TABLE IF NOT EXISTS audit_events (
    seq            bigint PRIMARY KEY,     -- the event's stream sequence
    event_id       text NOT NULL,
    type           text NOT NULL,
    aggregate      text NOT NULL,
    aggregate_id   text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    actor          text NOT NULL,
    correlation_id text,
    causation_id   text
);
CREATE INDEX IF NOT EXISTS audit_events_aggregate_idx ON audit_events (aggregate, aggregate_id, seq);
CREATE INDEX IF NOT EXISTS audit_events_actor_idx ON audit_events (actor, seq);
CREATE INDEX IF NOT EXISTS audit_events_type_idx ON audit_events (type, seq);
-- Events are appended in about time order, so a block range index finds a time window for almost nothing.
CREATE INDEX IF NOT EXISTS audit_events_time_idx ON audit_events USING brin (occurred_at);
