-- Read models for tasks and agents, and the projection checkpoints.
CREATE TABLE IF NOT EXISTS tasks (
    id                text PRIMARY KEY,
    title             text NOT NULL,
    description       text NOT NULL DEFAULT '',
    prompt            text NOT NULL DEFAULT '',
    capabilities      text[] NOT NULL DEFAULT '{}',
    model             text,
    priority          integer NOT NULL DEFAULT 0,
    payload           jsonb NOT NULL DEFAULT '{}'::jsonb,
    depends_on        text[] NOT NULL DEFAULT '{}',
    max_attempts      integer NOT NULL DEFAULT 1,
    timeout_s         double precision,
    idempotency_key   text,
    status            text NOT NULL,
    attempt           integer NOT NULL DEFAULT 0,
    assigned_agent_id text,
    result            jsonb,
    error             text,
    created_by        text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    queued_at         timestamptz,
    assigned_at       timestamptz,
    started_at        timestamptz,
    finished_at       timestamptz,
    -- stream sequence of the last event applied to this row
    last_seq          bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_created_idx ON tasks (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS tasks_status_idx ON tasks (status, created_at DESC);
CREATE INDEX IF NOT EXISTS tasks_agent_idx ON tasks (assigned_agent_id) WHERE assigned_agent_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS agents (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    session_id      text NOT NULL,
    status          text NOT NULL,
    capabilities    jsonb NOT NULL DEFAULT '{}'::jsonb,
    models          text[] NOT NULL DEFAULT '{}',
    max_concurrency integer NOT NULL DEFAULT 1,
    executor        text NOT NULL DEFAULT '',
    hardware        jsonb NOT NULL DEFAULT '{}'::jsonb,
    registered_at   timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_seq        bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name       text PRIMARY KEY,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
