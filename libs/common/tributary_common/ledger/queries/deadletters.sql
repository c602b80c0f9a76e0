-- name: page
-- Keyset page, newest first; the cursor is the last row's (created_at, id).
SELECT * FROM dead_letters
WHERE (%(provider)s::text IS NULL OR platform = %(provider)s)
  AND (%(category)s::text IS NULL OR category = %(category)s)
  AND (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
  AND (%(include_replayed)s OR replayed_at IS NULL)
  AND (%(after_created)s::timestamptz IS NULL
       OR (created_at, id) < (%(after_created)s, %(after_id)s::uuid))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s

-- name: get
SELECT * FROM dead_letters WHERE id = %(id)s

-- name: delete
DELETE FROM dead_letters WHERE id = %(id)s RETURNING id

-- name: purge
DELETE FROM dead_letters
WHERE (%(provider)s::text IS NULL OR platform = %(provider)s)
  AND (%(category)s::text IS NULL OR category = %(category)s)
  AND (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
  AND (NOT %(replayed_only)s OR replayed_at IS NOT NULL)

-- name: select_for_replay
-- Unreplayed dead letters matching the filter, oldest first, after the keyset position.
-- A letter a replay could not replay (replay_error) is walked past by filter replays until
-- its account is connected again; given by id it is always tried.
SELECT id, created_at FROM dead_letters d
WHERE replayed_at IS NULL
  AND (%(ids)s::uuid[] IS NULL OR id = ANY(%(ids)s::uuid[]))
  AND (%(ids)s::uuid[] IS NOT NULL OR replay_error IS NULL
       OR EXISTS (SELECT 1 FROM connections c
                  WHERE c.user_id = d.user_id AND c.provider = d.platform
                    AND c.account_id = d.payload->>'accountId'))
  AND (%(provider)s::text IS NULL OR platform = %(provider)s)
  AND (%(category)s::text IS NULL OR category = %(category)s)
  AND (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
  AND (%(after_created)s::timestamptz IS NULL
       OR (created_at, id) > (%(after_created)s, %(after_id)s::uuid))
ORDER BY created_at, id
LIMIT %(limit)s

-- name: current_connection
-- The letter's connection, or the one the same user connected since for the same account.
(SELECT id FROM connections WHERE id = %(connection_id)s)
UNION ALL
(SELECT id FROM connections
 WHERE user_id = %(user_id)s AND provider = %(provider)s AND account_id = %(account_id)s)
LIMIT 1

-- name: mark_unreplayable
UPDATE dead_letters SET replay_error = %(error)s, replay_error_at = now()
WHERE id = %(id)s AND replayed_at IS NULL

-- name: claim_replay
-- Marks the letter replayed first, in the replay's transaction: a concurrent replay waits
-- on the row lock, then finds it replayed, so the two never both re-enqueue it.
UPDATE dead_letters SET replayed_at = now(), replay_error = NULL, replay_error_at = NULL
WHERE id = %(id)s AND replayed_at IS NULL
RETURNING *

-- name: set_replay_job
UPDATE dead_letters SET replay_job_id = %(job_id)s WHERE id = %(id)s
RETURNING *
