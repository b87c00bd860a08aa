-- A task's pin (PUT /api/tasks/{id}/assign) and when a cancel was requested (DELETE /api/tasks/{id}).
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS pinned_agent_id text;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS cancel_requested_at timestamptz;
