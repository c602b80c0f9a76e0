-- name: insert
-- A paused connection's new job (a replay) is held until the connection resumes.
INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, status, trigger,
                       priority, queue, options, message_id, dispatched_at)
SELECT %(id)s, c.user_id, c.provider, c.id, %(sync_date)s,
       CASE WHEN c.status = 'paused' THEN 'held' ELSE 'pending' END, %(trigger)s,
       %(priority)s, %(queue)s, %(options)s, %(message_id)s, now()
-- The connection row is locked before any job row (the order enqueue-due uses), so a
-- manual enqueue and enqueue-due on one connection wait for each other, never deadlock.
FROM connections c WHERE c.id = %(connection_id)s FOR KEY SHARE OF c
ON CONFLICT (connection_id, sync_date) WHERE status IN ('pending', 'processing', 'held') DO NOTHING
RETURNING *

-- name: active_for_window
SELECT * FROM sync_jobs
WHERE connection_id = %(connection_id)s AND sync_date = %(sync_date)s
  AND status IN ('pending', 'processing', 'held')
FOR UPDATE

-- name: raise_to_manual
UPDATE sync_jobs
SET priority = 1, queue = 'sync.manual', message_id = %(message_id)s, dispatched_at = now(),
    updated_at = now()
WHERE id = %(id)s AND status = 'pending' AND priority > 1
RETURNING *

-- name: enqueue_due
-- Rows are locked with SKIP LOCKED and their next due time moves forward in the same
-- transaction, so two runs at once never enqueue a connection twice. The next due time
-- keeps the connection's phase (a whole number of intervals later), so a spread schedule
-- stays spread. One batch: the most overdue connections, or with `everything` the next
-- page of all active ones in id order within (after, upto] (bumped rows may still look
-- due, so that run pages by id instead of by due time).
WITH due_now AS (
    SELECT id FROM connections
    WHERE NOT %(everything)s AND status = 'active' AND next_due_at <= now()
    ORDER BY next_due_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), all_page AS (
    SELECT id FROM connections
    WHERE %(everything)s AND status = 'active' AND id > %(after)s AND id <= %(upto)s
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), due AS (
    SELECT id FROM due_now UNION ALL SELECT id FROM all_page
), bumped AS (
    UPDATE connections c
    SET next_due_at = c.next_due_at + make_interval(mins => c.sync_interval_minutes)
            * (floor(greatest(extract(epoch FROM now() - c.next_due_at), 0)
                     / (c.sync_interval_minutes * 60)) + 1),
        updated_at = now()
    -- = ANY(ARRAY(…)): primary-key lookups, not a hash join over every connection
    WHERE c.id = ANY(ARRAY(SELECT id FROM due))
    RETURNING c.id, c.user_id, c.provider
), ins AS (
    INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, trigger, priority,
                           queue, message_id, dispatched_at)
    SELECT gen_random_uuid(), b.user_id, b.provider, b.id, %(sync_date)s, 'scheduled', 5,
           'sync.scheduled', gen_random_uuid()::text, now()
    FROM bumped b
    ON CONFLICT (connection_id, sync_date) WHERE status IN ('pending', 'processing', 'held') DO NOTHING
    RETURNING id, message_id
)
SELECT d.n AS due, (SELECT id FROM bumped ORDER BY id DESC LIMIT 1) AS last_id,
       ins.id, ins.message_id
FROM (SELECT count(*) AS n FROM bumped) d LEFT JOIN ins ON true

-- name: claim
-- A pending job whose time has come (deferred jobs are sent a little ahead of their
-- reservation and wait out the rest in the runner). A processing job whose lease expired
-- is never taken here: `recover_expired` first checks that its holder is really gone
-- (a holder cut off from PostgreSQL keeps its job), counts the crash and re-sends it.
UPDATE sync_jobs j
SET status = 'processing',
    started_at = coalesce(j.started_at, now()),
    lease_owner = %(owner)s,
    lease_expires_at = now() + make_interval(secs => %(lease_seconds)s),
    updated_at = now()
FROM connections c
WHERE j.id = %(id)s AND c.id = j.connection_id
  AND j.status = 'pending'
  AND (j.not_before IS NULL OR j.not_before <= now() + interval '500 milliseconds')
RETURNING j.*, c.account_id, c.access_token, c.refresh_token, c.token_expires_at,
       c.token_issued_at, c.scopes, c.token_type, c.token_kind, c.credential_version,
       c.refresh_fence, c.metadata, c.status AS connection_status,
       extract(epoch FROM now() - j.enqueued_at) AS wait_seconds,
       greatest(extract(epoch FROM j.not_before - clock_timestamp()), 0) AS early_seconds

-- name: state
SELECT id, status, queue, priority, not_before, lease_expires_at, lease_owner, message_id,
       extract(epoch FROM (coalesce(lease_expires_at, now()) - now())) AS lease_left_seconds,
       extract(epoch FROM (coalesce(not_before, now()) - now())) AS wait_left_seconds
FROM sync_jobs WHERE id = %(id)s

-- name: get
SELECT * FROM sync_jobs WHERE id = %(id)s

-- name: renew_leases
UPDATE sync_jobs SET lease_expires_at = now() + make_interval(secs => %(lease_seconds)s)
WHERE id = ANY(%(ids)s) AND lease_owner = %(owner)s AND status = 'processing'
RETURNING id

-- name: complete
-- One statement: the job and its attempt row. records_synced is kept by save_page, in
-- the transaction that stores the records. The connection's last sync time is a
-- separate statement (`touch_connection`): holding the job row while waiting for the
-- connection row is the opposite of enqueue-due's order, and deadlocked with it.
WITH done AS (
    UPDATE sync_jobs
    SET status = 'completed', completed_at = now(), attempts = attempts + 1,
        duration_ms = %(duration_ms)s,
        error = NULL, error_category = NULL, not_before = NULL,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    WHERE id = %(id)s AND status = 'processing' AND lease_owner = %(owner)s
    RETURNING *
), attempt AS (
    INSERT INTO sync_attempts (job_id, attempt, worker, started_at, outcome, records_synced,
                               duration_ms)
    SELECT id, attempts, %(owner)s, %(started_at)s, 'completed', %(records)s, %(duration_ms)s
    FROM done
), event AS (
    -- The sync.completed event for every subscribed endpoint (outbox.sql: insert_event),
    -- in the same statement as the ending: it exists exactly when the completion does.
    INSERT INTO webhook_outbox (id, endpoint_id, event_type, payload)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.id, 'sync.completed',
           jsonb_build_object(
               'type', 'sync.completed',
               'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'data', jsonb_build_object(
                   'jobId', done.id, 'userId', done.user_id, 'provider', done.platform,
                   'connectionId', done.connection_id, 'syncDate', done.sync_date,
                   'trigger', done.trigger, 'recordsSynced', done.records_synced,
                   'durationMs', done.duration_ms, 'attempts', done.attempts))
    FROM done, webhook_endpoints e
    WHERE e.enabled AND 'sync.completed' = ANY(e.event_types)
)
SELECT * FROM done

-- name: touch_connection
UPDATE connections SET last_synced_at = now(), updated_at = now() WHERE id = %(id)s

-- name: add_records
UPDATE sync_jobs SET records_synced = records_synced + %(records)s WHERE id = %(id)s

-- name: back_to_pending
-- Deferral (attempts untouched) and shutdown release: the job waits for its next message.
-- A delay counts from the ledger's clock (now()), never the runner host's.
-- A provider throttle (throttled = 1) also counts in `throttles` and starts `throttled_since`.
UPDATE sync_jobs
SET status = 'pending',
    not_before = coalesce(%(not_before)s::timestamptz,
                          now() + make_interval(secs => %(delay_seconds)s::float8)), deferrals = deferrals + %(deferred)s,
    throttles = throttles + %(throttled)s,
    throttled_since = CASE WHEN %(throttled)s = 1 THEN coalesce(throttled_since, now())
                           ELSE throttled_since END,
    enqueued_at = now(),
    message_id = %(message_id)s, dispatched_at = now(),
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = %(id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING *

-- name: retry
UPDATE sync_jobs
SET status = 'pending', attempts = attempts + 1, retry_count = retry_count + 1,
    error = %(error)s, error_category = %(category)s,
    not_before = coalesce(%(not_before)s::timestamptz,
                          now() + make_interval(secs => %(delay_seconds)s::float8)),
    priority = 10, queue = 'sync.retry', enqueued_at = now(),
    message_id = %(message_id)s, dispatched_at = now(),
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = %(id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING *

-- name: fail
-- owner NULL: the scheduler fails a job whose holder is gone (crash bound reached).
UPDATE sync_jobs
SET status = 'failed', completed_at = now(), attempts = attempts + %(attempted)s,
    error = %(error)s, error_category = %(category)s, dead_lettered = true,
    duration_ms = %(duration_ms)s,
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = %(id)s
  AND ((status = 'processing' AND lease_owner = %(owner)s)
       OR (%(owner)s::text IS NULL AND status IN ('pending', 'processing')))
RETURNING *

-- name: insert_dead_letter
INSERT INTO dead_letters (id, job_id, user_id, platform, connection_id, category, error,
                          attempts, payload)
-- The payload records the account, so a replay after a reconnect finds the new connection.
SELECT %(id)s, %(job_id)s, %(user_id)s, %(platform)s, %(connection_id)s, %(category)s,
       %(error)s, %(attempts)s,
       %(payload)s::jsonb || jsonb_build_object(
           'accountId', (SELECT account_id FROM connections WHERE id = %(connection_id)s))

-- name: insert_attempt
INSERT INTO sync_attempts (job_id, attempt, worker, started_at, outcome, error_category, error,
                           records_synced, duration_ms)
VALUES (%(job_id)s, %(attempt)s, %(worker)s, %(started_at)s, %(outcome)s, %(category)s,
        %(error)s, %(records)s, %(duration_ms)s)

-- name: attempts_for_job
SELECT attempt, worker, started_at, finished_at, outcome, error_category, error,
       records_synced, duration_ms
FROM sync_attempts WHERE job_id = %(id)s ORDER BY id

-- name: pending_page
-- Pending jobs whose message was sent more than `grace` seconds ago, by id (keyset).
SELECT id, queue, message_id,
       greatest(extract(epoch FROM (coalesce(not_before, now()) - now())), 0) AS delay_seconds
FROM sync_jobs
WHERE status = 'pending' AND id > %(after)s
  AND (dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => %(grace)s))
ORDER BY id
LIMIT %(limit)s

-- name: set_message_ids
UPDATE sync_jobs SET message_id = m.message_id, dispatched_at = now()
FROM unnest(%(ids)s::uuid[], %(message_ids)s::text[]) AS m(id, message_id)
WHERE sync_jobs.id = m.id AND sync_jobs.status = 'pending'

-- name: expired_leases
SELECT id, crash_count, lease_owner FROM sync_jobs
WHERE status = 'processing' AND lease_expires_at < now()
ORDER BY lease_expires_at
LIMIT %(limit)s

-- name: recover_expired
-- The holder died: back to pending, one more crash counted, and a `crashed` attempt row.
WITH recovered AS (
    UPDATE sync_jobs j
    SET status = 'pending', crash_count = crash_count + 1, lease_owner = NULL,
        lease_expires_at = NULL, enqueued_at = now(), message_id = %(message_id)s,
        dispatched_at = now(), updated_at = now()
    FROM (SELECT id, lease_owner, updated_at FROM sync_jobs WHERE id = %(id)s FOR UPDATE) old
    WHERE j.id = old.id AND j.status = 'processing' AND j.lease_expires_at < now()
      AND j.lease_owner IS NOT DISTINCT FROM %(owner)s
    RETURNING j.id, j.queue, j.crash_count, j.attempts, old.lease_owner, old.updated_at
), attempt AS (
    INSERT INTO sync_attempts (job_id, attempt, worker, started_at, outcome, error)
    SELECT id, attempts + 1, coalesce(lease_owner, 'unknown'), updated_at, 'crashed',
           'the worker holding the job died (its lease expired)'
    FROM recovered
)
SELECT id, queue, crash_count FROM recovered

-- name: cleanup
-- Never a job an unreplayed dead letter points at (its jobId must keep answering).
DELETE FROM sync_jobs
WHERE id IN (
    SELECT j.id FROM sync_jobs j
    WHERE j.status IN ('completed', 'failed')
      AND j.completed_at < now() - make_interval(secs => %(retention_seconds)s)
      AND NOT EXISTS (SELECT 1 FROM dead_letters d
                      WHERE d.job_id = j.id AND d.replayed_at IS NULL)
    LIMIT %(limit)s
)

-- name: cleanup_dead_letters
-- Dead letters' own, longer, retention (replayed or not).
DELETE FROM dead_letters
WHERE id IN (
    SELECT id FROM dead_letters
    WHERE created_at < now() - make_interval(secs => %(retention_seconds)s)
    LIMIT %(limit)s
)

-- name: hold_for_connection
-- Pause: the connection's pending jobs wait (their messages are dropped when they arrive).
UPDATE sync_jobs SET status = 'held', message_id = NULL, updated_at = now()
WHERE connection_id = %(connection_id)s AND status = 'pending'
RETURNING id

-- name: release_for_connection
-- Resume: held jobs are pending again, each with a new message (delayed to its not_before).
UPDATE sync_jobs
SET status = 'pending', message_id = md5(random()::text || id::text), dispatched_at = now(),
    enqueued_at = now(), updated_at = now()
WHERE connection_id = %(connection_id)s AND status = 'held'
RETURNING id, queue, message_id,
          greatest(extract(epoch FROM (coalesce(not_before, now()) - now())), 0) AS delay_seconds

-- name: hold_running
-- A running job of a connection paused meanwhile stops after its page and waits, held.
UPDATE sync_jobs
SET status = 'held', message_id = NULL,
    lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id = %(id)s AND status = 'processing' AND lease_owner = %(owner)s
RETURNING *

-- name: compact_job_counts
-- Fold the writers' shards of job_counts into shard 0 and drop the rows that are zero, so
-- the counts stay a few rows per bucket (cleanup runs it).
WITH moved AS (
    DELETE FROM job_counts WHERE shard <> 0
    RETURNING status, priority, bucket, n
), summed AS (
    SELECT status, priority, bucket, sum(n) AS n FROM moved GROUP BY 1, 2, 3
)
INSERT INTO job_counts AS c (status, priority, bucket, shard, n)
SELECT status, priority, bucket, 0, n FROM summed WHERE n <> 0 ORDER BY 1, 2, 3
ON CONFLICT (status, priority, bucket, shard) DO UPDATE SET n = c.n + excluded.n

-- name: drop_zero_job_counts
DELETE FROM job_counts WHERE n = 0
