-- The queue's working parts: what a worker records on a job, whose turn it is, and the
-- notifications that wake workers and carry job events between server instances.

-- What the worker that ran a job records: the device, the time each phase took (milliseconds,
-- by phase name), and the latest low-resolution preview (a small PNG, kept in the row so that
-- every server instance can serve it to the job's event stream).
ALTER TABLE generation_jobs
    ADD COLUMN device      text CHECK (length(device) BETWEEN 1 AND 100),
    ADD COLUMN timings     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(timings) = 'object'),
    ADD COLUMN preview_png bytea CHECK (octet_length(preview_png) <= 65536);

-- Round robin between users within a priority: a worker takes the job of the user served least
-- recently. One row per user who has ever had a job claimed; only background work sees it.
CREATE TABLE queue_turns (
    user_id         uuid PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    last_claimed_at timestamptz NOT NULL
);
ALTER TABLE queue_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE queue_turns FORCE ROW LEVEL SECURITY;
CREATE POLICY queue_turns_background ON queue_turns
    USING (app_background_task() IS NOT NULL) WITH CHECK (app_background_task() IS NOT NULL);

-- Running jobs by lease, for finding the ones whose worker died.
CREATE INDEX generation_jobs_lease_idx ON generation_jobs (lease_expires_at) WHERE status = 'running';

-- `generation_queue` (no payload): a job was queued, wake a worker.
-- `generation_job_events` (the job id): a job changed; event streams re-read it.
-- Sent by PostgreSQL at commit, so every instance hears every change, and none that rolled back.
CREATE FUNCTION generation_jobs_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.status = 'queued' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'queued') THEN
        PERFORM pg_notify('generation_queue', '');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('generation_job_events', NEW.job_id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER generation_jobs_notify
    AFTER INSERT OR UPDATE ON generation_jobs
    FOR EACH ROW EXECUTE FUNCTION generation_jobs_notify();
