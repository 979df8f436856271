DROP TRIGGER generation_jobs_notify ON generation_jobs;
DROP FUNCTION generation_jobs_notify();
DROP INDEX generation_jobs_lease_idx;
DROP TABLE queue_turns;
ALTER TABLE generation_jobs DROP COLUMN device, DROP COLUMN timings, DROP COLUMN preview_png;
