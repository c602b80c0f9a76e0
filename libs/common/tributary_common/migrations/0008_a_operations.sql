-- #19: operations on work in flight (pause holds jobs; bulk replay marks what it cannot
-- replay; replay finds a reconnected account) and dead letters keeping their jobs.

-- `held`: the job of a paused connection. Not claimable, not failed, not rated; resuming
-- the connection makes it pending again (with a new message).
ALTER TABLE sync_jobs DROP CONSTRAINT sync_jobs_status_check;
ALTER TABLE sync_jobs ADD CONSTRAINT sync_jobs_status_check
    CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'held'));
-- A held job still occupies its (connection, window): resuming never makes two.
DROP INDEX sync_jobs_one_active;
CREATE UNIQUE INDEX sync_jobs_one_active ON sync_jobs (connection_id, sync_date)
    WHERE status IN ('pending', 'processing', 'held');
CREATE INDEX sync_jobs_held ON sync_jobs (connection_id) WHERE status = 'held';

-- A bulk replay that cannot replay a letter (its connection is gone and the account was
-- not reconnected) records why, and later filter replays walk past it.
ALTER TABLE dead_letters ADD COLUMN replay_error text;
ALTER TABLE dead_letters ADD COLUMN replay_error_at timestamptz;

-- Replay of a deleted connection's letter looks for the same user, provider and account:
-- letters record the account (payload.accountId); backfill those whose connection is here.
UPDATE dead_letters d
SET payload = d.payload || jsonb_build_object('accountId', c.account_id)
FROM connections c
WHERE c.id = d.connection_id AND NOT d.payload ? 'accountId';

-- Retention keeps the jobs that unreplayed dead letters point at.
CREATE INDEX dead_letters_unreplayed_job ON dead_letters (job_id) WHERE replayed_at IS NULL;
-- Dead letters' own retention walks them by age.
CREATE INDEX dead_letters_created ON dead_letters (created_at);

-- The run that stopped after its page because the connection was paused.
ALTER TABLE sync_attempts DROP CONSTRAINT sync_attempts_outcome_check;
ALTER TABLE sync_attempts ADD CONSTRAINT sync_attempts_outcome_check
    CHECK (outcome IN ('completed', 'failed', 'retried', 'deferred', 'interrupted', 'crashed',
                       'held'));
