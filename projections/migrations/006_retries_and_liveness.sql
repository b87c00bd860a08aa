-- Retries and dead letters (why the last attempt ended, when a scheduled retry may run, failed for good),
-- lost agents and circuit breakers.
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS failure_reason text;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS retry_at timestamptz;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS dead_lettered boolean NOT NULL DEFAULT false;
-- GET /api/tasks?dead_lettered=true lists the few dead letters newest first without scanning every task.
CREATE INDEX IF NOT EXISTS tasks_dead_lettered ON tasks (created_at DESC, id DESC) WHERE dead_lettered;
ALTER TABLE agents ADD COLUMN IF NOT EXISTS lost_at timestamptz;
ALTER TABLE agents ADD COLUMN IF NOT EXISTS circuit_open_until timestamptz;
ALTER TABLE agents ADD COLUMN IF NOT EXISTS circuit_failures integer NOT NULL DEFAULT 0;
