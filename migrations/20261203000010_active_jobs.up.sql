-- A user's queued and running jobs, counted on every generation request against the plan's
-- limit of jobs at once (SECURITY.md 38); few rows per user, whatever their history.
CREATE INDEX generation_jobs_active_idx ON generation_jobs (user_id) WHERE status IN ('queued', 'running');
