-- #19 big backlogs: counts that do not walk every row. With 1,000,000 pending and
-- 10,000,000 finished jobs, counting them per request (queue position, queue statistics,
-- sync-hourly's health) took 0.1-1.1 s. Counts are kept instead, by statement triggers, in
-- `job_counts`, and a queue position counts at most one bucket of 4,096 jobs.

-- Enqueue order: a job's place within its band (kept across retries and deferrals).
CREATE SEQUENCE sync_jobs_seq;
ALTER TABLE sync_jobs ADD COLUMN seq bigint;
ALTER TABLE sync_jobs ALTER COLUMN seq SET DEFAULT nextval('sync_jobs_seq');
UPDATE sync_jobs j SET seq = o.n
FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n
      FROM sync_jobs WHERE status IN ('pending', 'processing', 'held')) o
WHERE j.id = o.id;
SELECT setval('sync_jobs_seq', coalesce((SELECT max(seq) FROM sync_jobs), 0) + 1, false);

CREATE INDEX sync_jobs_pending_seq ON sync_jobs (priority, seq) WHERE status = 'pending';
-- Deferred jobs (not_before set): few, and subtracted from a position when not yet due.
CREATE INDEX sync_jobs_pending_not_before ON sync_jobs (not_before)
    WHERE status = 'pending' AND not_before IS NOT NULL;

-- Jobs per (status, band, bucket). The bucket of a pending job is its seq / 4096 (a
-- position sums the buckets before its own and counts within its own); of a finished job
-- the hour it finished (the 24 h success rate sums 25 hours); otherwise 0. Each writer adds
-- to its own shard (backend pid % 16), so concurrent claims do not queue on one row;
-- `cleanup` folds the shards together and drops empty rows.
CREATE TABLE job_counts (
    status text NOT NULL,
    priority smallint NOT NULL,
    bucket bigint NOT NULL,
    shard smallint NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (status, priority, bucket, shard)
);

CREATE FUNCTION job_count_bucket(status text, seq bigint, completed_at timestamptz)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN status = 'pending' THEN coalesce(seq, 0) >> 12
        WHEN status IN ('completed', 'failed')
            THEN coalesce(floor(extract(epoch FROM completed_at) / 3600), 0)::bigint
        ELSE 0 END
$$;

CREATE FUNCTION job_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_counts AS c (status, priority, bucket, shard, n)
        SELECT status, priority, job_count_bucket(status, seq, completed_at),
               pg_backend_pid() % 16, count(*)
        FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (status, priority, bucket, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO job_counts AS c (status, priority, bucket, shard, n)
        SELECT status, priority, job_count_bucket(status, seq, completed_at),
               pg_backend_pid() % 16, -count(*)
        FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (status, priority, bucket, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO job_counts AS c (status, priority, bucket, shard, n)
        SELECT status, priority, bucket, pg_backend_pid() % 16, sum(d)
        FROM (SELECT status, priority, job_count_bucket(status, seq, completed_at) AS bucket,
                     1 AS d FROM new_rows
              UNION ALL
              SELECT status, priority, job_count_bucket(status, seq, completed_at), -1
              FROM old_rows) x
        GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (status, priority, bucket, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

INSERT INTO job_counts (status, priority, bucket, shard, n)
SELECT status, priority, job_count_bucket(status, seq, completed_at), 0, count(*)
FROM sync_jobs GROUP BY 1, 2, 3;

CREATE TRIGGER sync_jobs_count_insert AFTER INSERT ON sync_jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_counts_apply();
CREATE TRIGGER sync_jobs_count_update AFTER UPDATE ON sync_jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_counts_apply();
CREATE TRIGGER sync_jobs_count_delete AFTER DELETE ON sync_jobs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION job_counts_apply();
