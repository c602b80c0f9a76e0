-- name: insert
-- The first due time is spread over the interval by a hash of the id, so connections
-- created together do not all come due in the same minute.
INSERT INTO connections (id, user_id, provider, account_id, access_token, refresh_token,
                         token_expires_at, token_issued_at, scopes, token_type, token_kind,
                         metadata, private, sync_interval_minutes, next_due_at)
VALUES (%(id)s, %(user_id)s, %(provider)s, %(account_id)s, %(access_token)s, %(refresh_token)s,
        %(token_expires_at)s, %(token_issued_at)s, %(scopes)s, %(token_type)s, %(token_kind)s,
        %(metadata)s, %(private)s, %(interval)s,
        now() + make_interval(secs => abs(hashtext(%(id)s::text)) %% (%(interval)s * 60)))
ON CONFLICT (user_id, provider, account_id) DO NOTHING
RETURNING *

-- name: get
SELECT * FROM connections WHERE id = %(id)s

-- name: list_for_user
SELECT * FROM connections WHERE user_id = %(user_id)s ORDER BY provider, created_at

-- name: find_for_user
SELECT * FROM connections
WHERE user_id = %(user_id)s AND provider = %(provider)s
ORDER BY (status = 'active') DESC, created_at
LIMIT 1

-- name: delete
DELETE FROM connections WHERE id = %(id)s RETURNING id

-- name: mark_needs_reauth
UPDATE connections SET status = 'needs_reauth', status_reason = %(reason)s, updated_at = now()
WHERE id = %(id)s

-- name: mark_synced
UPDATE connections SET last_synced_at = now(), updated_at = now() WHERE id = %(id)s

-- name: counts_by_status
SELECT provider, status, count(*) AS n FROM connections GROUP BY provider, status

-- name: status_of
SELECT status FROM connections WHERE id = %(id)s
