-- name: record
-- First sight of (provider, delivery_id) inserts; a repeat only counts the duplicate.
INSERT INTO webhook_deliveries (provider, delivery_id, event, outcome)
VALUES (%(provider)s, %(delivery_id)s, %(event)s, 'ignored')
ON CONFLICT (provider, delivery_id)
DO UPDATE SET duplicates = webhook_deliveries.duplicates + 1
RETURNING id, (xmax = 0) AS inserted

-- name: enqueue_for_accounts
-- One debounced webhook-band job per matched active connection: a connection that
-- already has a pending or running job for the day keeps that one (the burst folds in).
WITH matched AS (
    SELECT DISTINCT c.id, c.user_id, c.provider
    FROM connections c
    JOIN unnest(%(providers)s::text[], %(accounts)s::text[]) AS m(provider, account_id)
      ON c.provider = m.provider AND c.account_id = m.account_id
    WHERE c.status = 'active'
), ins AS (
    INSERT INTO sync_jobs (id, user_id, platform, connection_id, sync_date, trigger, priority,
                           queue, message_id, dispatched_at, not_before)
    SELECT gen_random_uuid(), m.user_id, m.provider, m.id, %(sync_date)s, 'webhook', 3,
           'sync.webhook', gen_random_uuid()::text, now(),
           now() + make_interval(secs => %(debounce_seconds)s)
    FROM matched m
    ON CONFLICT (connection_id, sync_date) WHERE status IN ('pending', 'processing') DO NOTHING
    RETURNING id, connection_id, message_id, queue
)
SELECT m.id AS connection_id, ins.id AS job_id, ins.message_id, ins.queue
FROM matched m LEFT JOIN ins ON ins.connection_id = m.id

-- name: finish
UPDATE webhook_deliveries
SET outcome = %(outcome)s, connection_ids = %(connection_ids)s, job_ids = %(job_ids)s
WHERE id = %(id)s

-- name: list
SELECT id, provider, delivery_id, event, received_at, outcome, connection_ids, job_ids,
       duplicates
FROM webhook_deliveries
WHERE (%(provider)s::text IS NULL OR provider = %(provider)s)
  AND (%(before)s::bigint IS NULL OR id < %(before)s)
ORDER BY id DESC
LIMIT %(limit)s
