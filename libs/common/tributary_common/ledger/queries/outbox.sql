-- name: insert_event
-- One outbox row per enabled endpoint subscribed to the event type, in the caller's
-- transaction (the job's ending). webhook-id = 'msg_' + 32 hex digits.
INSERT INTO webhook_outbox (id, endpoint_id, event_type, payload)
SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.id, %(type)s,
       jsonb_build_object('type', %(type)s::text,
                          'timestamp', to_char(now() AT TIME ZONE 'UTC',
                                               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                          'data', %(data)s::jsonb)
FROM webhook_endpoints e
WHERE e.enabled AND %(type)s = ANY(e.event_types)

-- name: claim
-- Due deliveries of enabled endpoints, leased to this sender; a sender that dies lets
-- the lease run out and another takes the row (at least once).
WITH due AS (
    SELECT o.id FROM webhook_outbox o
    JOIN webhook_endpoints e ON e.id = o.endpoint_id
    WHERE o.status = 'pending' AND o.next_attempt_at <= now()
      AND (o.lease_until IS NULL OR o.lease_until < now()) AND e.enabled
    ORDER BY o.next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE webhook_outbox o
SET lease_until = now() + make_interval(secs => %(lease_seconds)s),
    attempts = o.attempts + 1, last_attempt_at = now()
FROM due, webhook_endpoints e
WHERE o.id = due.id AND e.id = o.endpoint_id
RETURNING o.id, o.endpoint_id, o.event_type, o.payload, o.attempts, e.url, e.secret

-- name: delivered
WITH hit AS (
    UPDATE webhook_outbox
    SET status = 'delivered', delivered_at = now(), last_status = %(status)s,
        last_error = NULL, lease_until = NULL
    WHERE id = %(id)s AND status = 'pending'
    RETURNING endpoint_id
)
UPDATE webhook_endpoints e SET failing_since = NULL, updated_at = now()
FROM hit WHERE e.id = hit.endpoint_id AND e.failing_since IS NOT NULL

-- name: attempt_failed
-- `retry_in` NULL: retries exhausted, the delivery fails. The endpoint's run of failures
-- starts at its first failure; once it lasts `disable_after` seconds the endpoint is
-- disabled with the reason.
WITH hit AS (
    UPDATE webhook_outbox
    SET status = CASE WHEN %(retry_in)s::float8 IS NULL THEN 'failed' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => coalesce(%(retry_in)s::float8, 0)),
        last_status = %(status)s, last_error = %(error)s, lease_until = NULL
    WHERE id = %(id)s AND status = 'pending'
    RETURNING endpoint_id
), failing AS (
    SELECT e.id, coalesce(e.failing_since, now()) AS since,
           e.enabled AND coalesce(e.failing_since, now())
                         <= now() - make_interval(secs => %(disable_after)s) AS disable
    FROM webhook_endpoints e JOIN hit ON e.id = hit.endpoint_id
)
-- One UPDATE of the endpoint row (a row changed twice in one statement keeps one change).
UPDATE webhook_endpoints e
SET failing_since = f.since, updated_at = now(),
    enabled = e.enabled AND NOT f.disable,
    disabled_at = CASE WHEN f.disable THEN now() ELSE e.disabled_at END,
    disabled_reason = CASE WHEN f.disable
        THEN 'every delivery failed since '
             || to_char(f.since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
             || ' (last: ' || %(error)s || ')'
        ELSE e.disabled_reason END
FROM failing f
WHERE e.id = f.id
RETURNING f.disable

-- name: list_for_endpoint
SELECT id, event_type, status, attempts, next_attempt_at, last_status, last_error,
       last_attempt_at, created_at, delivered_at, payload
FROM webhook_outbox
WHERE endpoint_id = %(endpoint_id)s AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY created_at DESC, id
LIMIT %(limit)s

-- name: replay
-- Send again from the start of the schedule, with the same webhook-id (receivers dedupe).
UPDATE webhook_outbox
SET status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL,
    delivered_at = NULL
WHERE id = %(id)s AND endpoint_id = %(endpoint_id)s
RETURNING id, event_type, status, attempts, next_attempt_at, last_status, last_error,
          last_attempt_at, created_at, delivered_at, payload
