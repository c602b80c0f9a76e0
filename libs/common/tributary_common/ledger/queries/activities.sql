-- name: daily
-- Daily counts per platform. With public_only, a platform is left out entirely when any
-- of the user's connections to it is private (the per-platform privacy setting): leaking
-- nothing beats showing the public half of a platform.
SELECT a.activity_date, a.platform, sum(a.count)::bigint AS count
FROM activities a
WHERE a.user_id = %(user_id)s
  AND a.activity_date BETWEEN %(from)s AND %(to)s
  AND (NOT %(public_only)s OR a.platform NOT IN (
      SELECT provider FROM connections WHERE user_id = %(user_id)s AND private))
GROUP BY a.activity_date, a.platform
ORDER BY a.activity_date, a.platform

-- name: private_platforms
SELECT DISTINCT provider FROM connections WHERE user_id = %(user_id)s AND private
ORDER BY provider
