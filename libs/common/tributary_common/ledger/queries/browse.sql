-- name: job_search
-- The console's job list: optional filters, newest first, keyset pages on (created_at, id).
SELECT * FROM sync_jobs
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(provider)s::text IS NULL OR platform = %(provider)s)
  AND (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
  AND (%(trigger)s::text IS NULL OR trigger = %(trigger)s)
  AND (%(day)s::date IS NULL
       OR (created_at >= %(day)s::date AND created_at < %(day)s::date + 1))
  AND (%(after_created)s::timestamptz IS NULL
       OR (created_at, id) < (%(after_created)s::timestamptz, %(after_id)s::uuid))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s

-- name: connection_search
-- The console's connection list: a user or account id (exact or prefix), optional status.
SELECT * FROM connections
WHERE (%(pattern)s::text IS NULL OR user_id ILIKE %(pattern)s OR account_id ILIKE %(pattern)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY user_id, provider, account_id, id
LIMIT %(limit)s OFFSET %(offset)s

-- name: band_counts
-- Per band (priority): never-deferred pending jobs, deferred ones now due, deferred ones
-- not yet due, and running jobs.
SELECT priority,
       count(*) FILTER (WHERE status = 'pending' AND not_before IS NULL) AS waiting,
       count(*) FILTER (WHERE status = 'pending' AND not_before <= now()) AS due_delayed,
       count(*) FILTER (WHERE status = 'pending' AND not_before > now()) AS not_yet_due,
       count(*) FILTER (WHERE status = 'processing') AS running
FROM sync_jobs WHERE status IN ('pending', 'processing')
GROUP BY priority

-- name: finished_counts
SELECT count(*) FILTER (WHERE status = 'completed' AND completed_at > now() - interval '1 hour')
           AS completed_1h,
       count(*) FILTER (WHERE status = 'failed' AND completed_at > now() - interval '1 hour')
           AS failed_1h,
       count(*) FILTER (WHERE status = 'completed') AS completed_24h,
       count(*) FILTER (WHERE status = 'failed') AS failed_24h
FROM sync_jobs
WHERE status IN ('completed', 'failed') AND completed_at > now() - interval '24 hours'

-- name: oldest_pending
SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age
FROM sync_jobs WHERE status = 'pending'

-- name: replay_jobs
-- The jobs that replaying dead letters created, by letter id.
SELECT d.id AS letter_id, j.* FROM dead_letters d JOIN sync_jobs j ON j.id = d.replay_job_id
WHERE d.id = ANY(%(ids)s)

-- name: letters_for_job
SELECT * FROM dead_letters WHERE job_id = %(job_id)s ORDER BY created_at, id

-- name: count_letters
-- What a purge with this filter would delete (replayed letters included).
SELECT count(*) AS n FROM dead_letters
WHERE (%(provider)s::text IS NULL OR platform = %(provider)s)
  AND (%(category)s::text IS NULL OR category = %(category)s)
  AND (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
