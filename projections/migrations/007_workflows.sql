-- Read models for workflows (latest version), their executions, and each execution's nodes.
CREATE TABLE IF NOT EXISTS workflows (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    version     integer NOT NULL,
    document    jsonb NOT NULL,
    deleted     boolean NOT NULL DEFAULT false,
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    last_seq    bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS workflows_created_idx ON workflows (created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS executions (
    id                  text PRIMARY KEY,
    workflow_id         text NOT NULL,
    workflow_version    integer NOT NULL,
    status              text NOT NULL,
    trigger             text,
    created_by          text NOT NULL DEFAULT '',
    error               text,
    failed_node         text,
    last_node           text,
    result              jsonb,
    response            jsonb,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    started_at          timestamptz,
    finished_at         timestamptz,
    cancel_requested_at timestamptz,
    last_seq            bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_created_idx ON executions (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_workflow_idx ON executions (workflow_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_status_idx ON executions (status, created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS execution_nodes (
    execution_id text NOT NULL,
    node         text NOT NULL,
    status       text NOT NULL,
    task_ids     text[] NOT NULL DEFAULT '{}',
    resume_at    timestamptz,
    -- n8n's items per output: [[{"json": ...}, ...], ...]
    outputs      jsonb,
    error        text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    last_seq     bigint NOT NULL,
    PRIMARY KEY (execution_id, node)
);
