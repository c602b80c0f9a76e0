-- Provider webhooks in (deliveries, WebSub leases) and signed events out (endpoints, outbox).

-- A webhook delivery asks for a sync on its own band (sync.webhook, priority 3).
ALTER TABLE sync_jobs DROP CONSTRAINT IF EXISTS sync_jobs_trigger_check;
ALTER TABLE sync_jobs ADD CONSTRAINT sync_jobs_trigger_check
    CHECK (trigger IN ('manual', 'webhook', 'scheduled', 'retry'));

-- Every signature-verified delivery, once: (provider, delivery_id) is the dedupe key
-- (GitHub's X-GitHub-Delivery is unique per event and reused on redelivery; Meta and
-- YouTube send no id, so theirs is the SHA-256 of the raw body). Bad signatures are not
-- recorded (counted in a metric only), so unauthenticated traffic cannot fill this table.
CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY,
    provider text NOT NULL,
    delivery_id text NOT NULL,
    event text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL DEFAULT now(),
    -- enqueued (a sync was enqueued or one was already pending), unmatched (no connection),
    -- ignored (an event that asks for no sync, e.g. GitHub ping).
    outcome text NOT NULL CHECK (outcome IN ('enqueued', 'unmatched', 'ignored')),
    connection_ids uuid[] NOT NULL DEFAULT '{}',
    job_ids uuid[] NOT NULL DEFAULT '{}',
    duplicates integer NOT NULL DEFAULT 0,
    UNIQUE (provider, delivery_id)
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at DESC);

-- WebSub (YouTube) subscriptions: one per connection's topic; `websub-renew` re-subscribes
-- before the lease ends; the hub's verification GET sets the lease.
CREATE TABLE websub_subscriptions (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    topic text NOT NULL UNIQUE,
    requested_at timestamptz,
    request_status integer,
    verified_at timestamptz,
    lease_expires_at timestamptz
);

-- Events out: endpoints registered by the embedding product.
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    event_types text[] NOT NULL,
    description text NOT NULL DEFAULT '',
    -- Standard Webhooks secret, `whsec_` + base64 of 32 random bytes; shown once at creation.
    secret text NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    disabled_at timestamptz,
    -- Start of the current run of failed attempts (NULL after a success).
    failing_since timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints USING gin (event_types)
    WHERE enabled;

-- The outbox: one row per (event, endpoint), written in the transaction that ends the job;
-- the worker's sender delivers it (webhook-id = id, stable across retries and replays).
CREATE TABLE webhook_outbox (
    id text PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- pending (to send, at next_attempt_at), delivered, failed (retries exhausted).
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A sender holds a row while it sends; a sender that died lets the lease run out.
    lease_until timestamptz,
    last_status integer,
    last_error text,
    last_attempt_at timestamptz,
    delivered_at timestamptz
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (endpoint_id, created_at DESC);
