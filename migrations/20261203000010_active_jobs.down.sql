DROP INDEX IF EXISTS generation_jobs_active_idx;
