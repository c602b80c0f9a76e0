-- What each scheduler command's last run did ({"enqueued": 3, "skipped": 0}, ...), for
-- the console's Scheduler page. NULL until the command finishes once after this migration.
ALTER TABLE scheduler_runs ADD COLUMN last_summary jsonb;
