-- name: insert
INSERT INTO webhook_endpoints (id, url, event_types, description, secret)
VALUES (%(id)s, %(url)s, %(event_types)s, %(description)s, %(secret)s)
RETURNING *

-- name: list
SELECT * FROM webhook_endpoints ORDER BY created_at, id

-- name: get
SELECT * FROM webhook_endpoints WHERE id = %(id)s

-- name: delete
DELETE FROM webhook_endpoints WHERE id = %(id)s RETURNING id
