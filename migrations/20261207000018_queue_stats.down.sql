DROP FUNCTION queue_stats();
DROP INDEX generation_jobs_running_idx;
