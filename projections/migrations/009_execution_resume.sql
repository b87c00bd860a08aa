-- A node waiting for a resume request (n8n's Wait on webhook or form): "webhook" or "form".
ALTER TABLE execution_nodes ADD COLUMN IF NOT EXISTS resume text;
