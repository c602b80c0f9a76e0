-- name: queue_position
-- Jobs that really start before this one: pending and due now (a deferred job whose
-- not_before is still ahead does not stand in front), in the same band or a higher one,
-- older. A row comparison on the partial index sync_jobs_queue_order (priority, created_at, id).
SELECT count(*) AS ahead FROM sync_jobs
WHERE status = 'pending'
  AND (priority, created_at, id) < (%(priority)s, %(created_at)s, %(id)s)
  AND (not_before IS NULL OR not_before <= now())

-- name: user_status
-- One round trip: the connection, and its active job with its position.
WITH conn AS (
    SELECT id, status, last_synced_at FROM connections
    WHERE user_id = %(user_id)s AND provider = %(provider)s
    ORDER BY (status = 'active') DESC, created_at
    LIMIT 1
), active AS (
    SELECT j.id, j.status, j.priority, j.created_at, j.not_before FROM sync_jobs j, conn
    WHERE j.connection_id = conn.id AND j.status IN ('pending', 'processing', 'held')
    ORDER BY j.priority, j.created_at, j.id
    LIMIT 1
)
SELECT conn.id AS connection_id, conn.status AS connection_status, conn.last_synced_at,
       active.id AS job_id, active.status AS job_status,
       CASE WHEN active.not_before > now() THEN active.not_before END AS due_at,
       CASE WHEN active.status = 'pending' THEN (
           SELECT count(*) FROM sync_jobs p
           WHERE p.status = 'pending'
             AND (p.priority, p.created_at, p.id) < (active.priority, active.created_at, active.id)
             AND (p.not_before IS NULL OR p.not_before <= now())
       ) WHEN active.status = 'processing' THEN 0 END AS queue_position
FROM conn LEFT JOIN active ON true

-- name: queue_totals
-- Counts over the partial indexes: O(pending jobs), so the api caches the answer briefly.
SELECT (SELECT count(*) FROM sync_jobs WHERE status = 'pending') AS waiting,
       (SELECT count(*) FROM sync_jobs WHERE status = 'processing') AS processing

-- name: recent_syncs
SELECT id, status, trigger, sync_date, created_at, started_at, completed_at, records_synced,
       attempts, error, error_category
FROM sync_jobs
WHERE user_id = %(user_id)s AND platform = %(provider)s
ORDER BY created_at DESC
LIMIT %(limit)s

-- name: jobs_by_status
SELECT status, count(*) AS n FROM sync_jobs GROUP BY status

-- name: pending_by_band
SELECT priority, count(*) AS n,
       count(*) FILTER (WHERE not_before > now()) AS delayed,
       extract(epoch FROM now() - min(created_at)) AS oldest_seconds
FROM sync_jobs WHERE status = 'pending'
GROUP BY priority

-- name: oldest_due_pending
SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age
FROM sync_jobs WHERE status = 'pending' AND (not_before IS NULL OR not_before <= now())

-- name: dead_letter_counts
SELECT platform, category, count(*) AS n FROM dead_letters
WHERE replayed_at IS NULL
GROUP BY platform, category

-- name: syncs_24h
SELECT count(*) AS total,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'completed') AS completed
FROM sync_jobs
WHERE status IN ('completed', 'failed') AND completed_at > now() - interval '24 hours'

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
