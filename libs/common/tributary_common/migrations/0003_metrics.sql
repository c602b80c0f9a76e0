-- Indexes for the api's scrape-time metrics (metrics_collector.LedgerCollector), so one
-- scrape stays well under 50 ms however many finished jobs the ledger holds.

-- Oldest due pending job per band: the first entry of this index per queue. A job is
-- due from the later of when it became pending and its not_before (deferral, backoff).
CREATE INDEX sync_jobs_pending_due ON sync_jobs
    (queue, (greatest(enqueued_at, coalesce(not_before, enqueued_at))))
    WHERE status = 'pending';

-- Processing jobs per band: an index-only count over the few leased rows.
CREATE INDEX sync_jobs_processing_queue ON sync_jobs (queue) WHERE status = 'processing';

-- Connections per provider and status: an index-only count, no table scan.
CREATE INDEX connections_provider_status ON connections (provider, status);
