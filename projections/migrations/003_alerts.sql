-- Alerts read model: one row per alert instance (alert.raised.v1 creates it, alert.resolved.v1 closes it).
CREATE TABLE IF NOT EXISTS alerts (
    id          text PRIMARY KEY,            -- the instance's alert_id
    rule        text NOT NULL,
    subject     text NOT NULL,               -- an agent id, 'cluster', or a projection's name
    severity    text NOT NULL,               -- info | warning | critical
    status      text NOT NULL,               -- raised | resolved
    measure     text NOT NULL,
    op          text NOT NULL,
    threshold   double precision NOT NULL,
    value       double precision NOT NULL,   -- the measure when it was raised
    message     text NOT NULL,
    resolved_value   double precision,
    resolved_message text,
    raised_at   timestamptz NOT NULL,
    resolved_at timestamptz,
    -- stream sequence of the last event applied to this row
    last_seq    bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_raised_idx ON alerts (raised_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS alerts_status_idx ON alerts (status, raised_at DESC, id DESC);
