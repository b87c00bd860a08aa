-- Status and performance reads look at the tasks that ended in a recent window.
CREATE INDEX IF NOT EXISTS tasks_finished_idx ON tasks (finished_at) WHERE finished_at IS NOT NULL;
