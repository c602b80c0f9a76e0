-- The ledger: connections, jobs, attempts, dead letters, cursors, records, activities.

CREATE TABLE connections (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    provider text NOT NULL,
    account_id text NOT NULL,
    access_token text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'paused', 'needs_reauth')),
    status_reason text,
    private boolean NOT NULL DEFAULT false,
    sync_interval_minutes integer NOT NULL DEFAULT 60 CHECK (sync_interval_minutes > 0),
    next_due_at timestamptz NOT NULL DEFAULT now(),
    last_synced_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, provider, account_id)
);
CREATE INDEX connections_due ON connections (next_due_at) WHERE status = 'active';
CREATE INDEX connections_user ON connections (user_id, provider);

CREATE TABLE sync_jobs (
    id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    user_id text NOT NULL,
    platform text NOT NULL,
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    sync_date date NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    trigger text NOT NULL CHECK (trigger IN ('manual', 'scheduled', 'retry')),
    -- The band: 1 = sync.manual, 5 = sync.scheduled, 10 = sync.retry.
    priority smallint NOT NULL,
    queue text NOT NULL,
    options jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at timestamptz,
    completed_at timestamptz,
    error text,
    error_category text,
    -- attempts: runs that ended in success or failure (deferrals do not count);
    -- retry_count: how many of those failures were retried.
    attempts integer NOT NULL DEFAULT 0,
    retry_count integer NOT NULL DEFAULT 0,
    -- Times a worker died holding the job (lease expired); bounded by TRIBUTARY_CRASH_LIMIT.
    crash_count integer NOT NULL DEFAULT 0,
    deferrals integer NOT NULL DEFAULT 0,
    not_before timestamptz,
    records_synced integer NOT NULL DEFAULT 0,
    duration_ms integer,
    -- When the job last became pending (enqueue, retry, deferral): queue wait starts here.
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_expires_at timestamptz,
    -- The Redis message that carries the job; reconcile re-sends when it is gone.
    message_id text,
    dispatched_at timestamptz,
    dead_lettered boolean NOT NULL DEFAULT false
);
-- At most one pending-or-processing job per (connection, sync window).
CREATE UNIQUE INDEX sync_jobs_one_active ON sync_jobs (connection_id, sync_date)
    WHERE status IN ('pending', 'processing');
-- Queue position: band order, then age.
CREATE INDEX sync_jobs_queue_order ON sync_jobs (priority, created_at, id) WHERE status = 'pending';
CREATE INDEX sync_jobs_user ON sync_jobs (user_id, platform, created_at DESC);
CREATE INDEX sync_jobs_finished ON sync_jobs (completed_at) WHERE status IN ('completed', 'failed');
CREATE INDEX sync_jobs_processing ON sync_jobs (lease_expires_at) WHERE status = 'processing';

CREATE TABLE sync_attempts (
    id bigserial PRIMARY KEY,
    job_id uuid NOT NULL REFERENCES sync_jobs (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    worker text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    outcome text NOT NULL
        CHECK (outcome IN ('completed', 'failed', 'retried', 'deferred', 'interrupted', 'crashed')),
    error_category text,
    error text,
    records_synced integer NOT NULL DEFAULT 0,
    duration_ms integer NOT NULL DEFAULT 0
);
CREATE INDEX sync_attempts_job ON sync_attempts (job_id, id);
CREATE INDEX sync_attempts_finished ON sync_attempts (finished_at);

CREATE TABLE dead_letters (
    id uuid PRIMARY KEY,
    -- No foreign key: dead letters outlive their job's retention until purged.
    job_id uuid NOT NULL,
    user_id text NOT NULL,
    platform text NOT NULL,
    connection_id uuid NOT NULL,
    category text NOT NULL,
    error text NOT NULL,
    attempts integer NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz,
    replay_job_id uuid
);
CREATE INDEX dead_letters_page ON dead_letters (created_at DESC, id DESC);
CREATE INDEX dead_letters_filter ON dead_letters (platform, category) WHERE replayed_at IS NULL;

CREATE TABLE sync_cursors (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    resource text NOT NULL,
    cursor jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, resource)
);

CREATE TABLE synced_records (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    kind text NOT NULL,
    external_id text NOT NULL,
    occurred_at timestamptz,
    data jsonb NOT NULL,
    job_id uuid,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, kind, external_id)
);

CREATE TABLE activities (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    platform text NOT NULL,
    activity_date date NOT NULL,
    count integer NOT NULL CHECK (count >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, activity_date)
);
CREATE INDEX activities_user ON activities (user_id, activity_date);

-- The scheduler runs as short-lived CronJobs: its last runs are kept here for /metrics.
CREATE TABLE scheduler_runs (
    command text PRIMARY KEY,
    last_started_at timestamptz,
    last_finished_at timestamptz,
    last_success_at timestamptz,
    last_ok boolean,
    runs bigint NOT NULL DEFAULT 0,
    failures bigint NOT NULL DEFAULT 0
);

-- Reconcile walks pending jobs by id.
CREATE INDEX sync_jobs_pending_id ON sync_jobs (id) WHERE status = 'pending';
