-- The queue as operators see it (issue 35): jobs queued and running, and how long the oldest of
-- each has waited. The jobs table is under forced row-level security, so this function runs as
-- its owner inside a background task — the SET clauses hold only while it runs, never for the
-- caller's transaction — and returns counts, never a user's data. The web server's /metrics reads
-- it once per scrape, and KEDA's PostgreSQL scaler calls it with a role that may only EXECUTE it.
CREATE INDEX generation_jobs_running_idx ON generation_jobs (started_at) WHERE status = 'running';

CREATE FUNCTION queue_stats()
RETURNS TABLE (state text, jobs bigint, oldest_seconds double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET app.background_task = 'queue_stats'
SET search_path FROM CURRENT
AS $$
    SELECT 'queued', count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::double precision
    FROM generation_jobs WHERE status = 'queued'
    UNION ALL
    SELECT 'running', count(*), coalesce(extract(epoch FROM now() - min(started_at)), 0)::double precision
    FROM generation_jobs WHERE status = 'running'
$$;

REVOKE EXECUTE ON FUNCTION queue_stats() FROM PUBLIC;
