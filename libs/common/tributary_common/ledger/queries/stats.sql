-- name: queue_position
-- Jobs that really start before this one: pending and due now (a deferred job whose
-- not_before is still ahead does not stand in front), in the same band or a higher one,
-- enqueued earlier (seq). Bounded at any backlog: the kept counts of the buckets before
-- this job's (job_counts), plus at most 4,096 index entries of its own bucket
-- (sync_jobs_pending_seq), minus the deferred jobs among them (sync_jobs_pending_not_before).
SELECT (SELECT coalesce(sum(n), 0) FROM job_counts
        WHERE status = 'pending'
          AND (priority < %(priority)s OR (priority = %(priority)s AND bucket < %(seq)s >> 12)))
     + (SELECT count(*) FROM sync_jobs
        WHERE status = 'pending' AND priority = %(priority)s
          AND seq >= (%(seq)s >> 12) << 12 AND seq < %(seq)s)
     - (SELECT count(*) FROM sync_jobs
        WHERE status = 'pending' AND not_before IS NOT NULL AND not_before > now()
          -- "+ 0": walk the few deferred jobs (not_before index), never every job ahead
          AND (priority + 0, seq + 0) < (%(priority)s, %(seq)s)) AS ahead

-- name: user_status
-- The connection and its active job (its position: queue_position).
WITH conn AS (
    SELECT id, status, last_synced_at FROM connections
    WHERE user_id = %(user_id)s AND provider = %(provider)s
    ORDER BY (status = 'active') DESC, created_at
    LIMIT 1
), active AS (
    SELECT j.id, j.status, j.priority, j.created_at, j.not_before, j.seq FROM sync_jobs j, conn
    WHERE j.connection_id = conn.id AND j.status IN ('pending', 'processing', 'held')
    ORDER BY j.priority, j.created_at, j.id
    LIMIT 1
)
SELECT conn.id AS connection_id, conn.status AS connection_status, conn.last_synced_at,
       active.id AS job_id, active.status AS job_status, active.priority, active.seq,
       CASE WHEN active.not_before > now() THEN active.not_before END AS due_at
FROM conn LEFT JOIN active ON true

-- name: queue_totals
-- The kept counts (job_counts), however long the queue.
SELECT coalesce(sum(n) FILTER (WHERE status = 'pending'), 0) AS waiting,
       coalesce(sum(n) FILTER (WHERE status = 'processing'), 0) AS processing
FROM job_counts WHERE status IN ('pending', 'processing')

-- name: recent_syncs
SELECT id, status, trigger, sync_date, created_at, started_at, completed_at, records_synced,
       attempts, error, error_category
FROM sync_jobs
WHERE user_id = %(user_id)s AND platform = %(provider)s
ORDER BY created_at DESC
LIMIT %(limit)s

-- name: jobs_by_status
-- The kept counts (job_counts), not a scan of every job.
SELECT status, sum(n) AS n FROM job_counts GROUP BY status

-- name: pending_by_band
-- Kept counts per band; delayed ones over the not_before index; the oldest per band is
-- the first entry of sync_jobs_queue_order.
SELECT c.priority, c.n,
       (SELECT count(*) FROM sync_jobs d
        WHERE d.status = 'pending' AND d.not_before IS NOT NULL AND d.not_before > now()
          AND d.priority = c.priority) AS delayed,
       extract(epoch FROM now() - (SELECT o.created_at FROM sync_jobs o
                                   WHERE o.status = 'pending' AND o.priority = c.priority
                                   ORDER BY o.priority, o.created_at, o.id
                                   LIMIT 1)) AS oldest_seconds
FROM (SELECT priority, sum(n) AS n FROM job_counts WHERE status = 'pending'
      GROUP BY priority HAVING sum(n) > 0) c

-- name: oldest_due_pending
-- Age of the oldest due pending job: per band, the first entries of sync_jobs_queue_order
-- that are due (deferred ones are skipped; few).
SELECT coalesce(extract(epoch FROM now() - min(o.created_at)), 0) AS age
FROM unnest(%(priorities)s::smallint[]) AS b(priority)
LEFT JOIN LATERAL (
    SELECT created_at FROM sync_jobs
    WHERE status = 'pending' AND priority = b.priority
      AND (not_before IS NULL OR not_before <= now())
    ORDER BY priority, created_at, id
    LIMIT 1
) o ON true

-- name: dead_letter_counts
SELECT platform, category, count(*) AS n FROM dead_letters
WHERE replayed_at IS NULL
GROUP BY platform, category

-- name: syncs_24h
-- Jobs finished in the last 24 h, to the hour (the kept counts of the 25 hourly buckets
-- that overlap the window), however many finished.
SELECT coalesce(sum(n), 0) AS total,
       coalesce(sum(n) FILTER (WHERE status = 'failed'), 0) AS failed,
       coalesce(sum(n) FILTER (WHERE status = 'completed'), 0) AS completed
FROM job_counts
WHERE status IN ('completed', 'failed')
  AND bucket >= floor(extract(epoch FROM now() - interval '24 hours') / 3600)::bigint

-- name: connection_totals
SELECT count(*) AS total, count(*) FILTER (WHERE status = 'active') AS active FROM connections

-- name: due_jobs
-- process-queue: pending jobs whose time has come, in band order then age.
SELECT id, queue, message_id FROM sync_jobs
WHERE status = 'pending' AND (not_before IS NULL OR not_before <= now())
ORDER BY priority, created_at, id
LIMIT %(limit)s

-- name: error_categories_24h
SELECT error_category AS category, count(*) AS n FROM sync_attempts
WHERE finished_at > now() - interval '24 hours' AND error_category IS NOT NULL
GROUP BY error_category

-- name: oldest_due_age
-- Seconds the longest-waiting due job has waited since it came due (the later of when it
-- became pending and its not_before); 0 when none is due. One index probe per band on
-- sync_jobs_pending_due.
SELECT coalesce(max(greatest(extract(epoch FROM now() - o.due_at), 0)), 0)::float8 AS age
FROM unnest(%(queues)s::text[]) AS b(queue)
LEFT JOIN LATERAL (
    SELECT greatest(enqueued_at, coalesce(not_before, enqueued_at)) AS due_at
    FROM sync_jobs
    WHERE status = 'pending' AND queue = b.queue
    ORDER BY greatest(enqueued_at, coalesce(not_before, enqueued_at))
    LIMIT 1
) o ON true
