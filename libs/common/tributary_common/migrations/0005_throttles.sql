-- Provider throttles defer a job instead of failing it (issue #13). Two columns keep
-- what the runner needs across deferrals:
--   throttles       how many times a provider throttled this job; a throttle that states
--                   no wait defers it for the provider's default, doubled per repeat;
--   throttled_since when the first throttle of this job came; a throttle whose end lies
--                   more than TRIBUTARY_THROTTLE_HORIZON_SECONDS after it dead-letters the
--                   job as RATE_LIMIT.
ALTER TABLE sync_jobs
    ADD COLUMN IF NOT EXISTS throttles integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS throttled_since timestamptz;
