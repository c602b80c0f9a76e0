-- name: due
-- Active YouTube connections whose subscription is missing, unverified or ends within
-- `renew_before` seconds, not asked for in the last `retry_after` seconds.
SELECT c.id AS connection_id, c.account_id, s.lease_expires_at
FROM connections c
LEFT JOIN websub_subscriptions s ON s.connection_id = c.id
WHERE c.provider = 'youtube' AND c.status = 'active'
  AND (s.lease_expires_at IS NULL
       OR s.lease_expires_at < now() + make_interval(secs => %(renew_before)s))
  AND (s.requested_at IS NULL
       OR s.requested_at < now() - make_interval(secs => %(retry_after)s))
ORDER BY s.lease_expires_at NULLS FIRST, c.id
LIMIT %(limit)s

-- name: requested
INSERT INTO websub_subscriptions (connection_id, topic, requested_at, request_status)
VALUES (%(connection_id)s, %(topic)s, now(), %(status)s)
ON CONFLICT (connection_id)
DO UPDATE SET topic = EXCLUDED.topic, requested_at = now(), request_status = EXCLUDED.request_status

-- name: verify
-- The hub's verification of intent for a subscribe: only a topic we asked for, of a
-- connection that is still active.
UPDATE websub_subscriptions s
SET verified_at = now(), lease_expires_at = now() + make_interval(secs => %(lease_seconds)s)
FROM connections c
WHERE s.topic = %(topic)s AND c.id = s.connection_id AND c.status = 'active'
RETURNING s.connection_id

-- name: wanted
SELECT 1 FROM websub_subscriptions s JOIN connections c ON c.id = s.connection_id
WHERE s.topic = %(topic)s AND c.status = 'active'

-- name: denied
UPDATE websub_subscriptions SET lease_expires_at = NULL, verified_at = NULL
WHERE topic = %(topic)s
