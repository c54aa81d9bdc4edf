-- Housekeeping deletes, in batches, what ended long enough ago and what
-- nothing reads any more (Store.PruneEnded): tokens revoked or expired,
-- script runs done, mail sent. These find it without reading the tables.
CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX script_runs_done ON script_runs (done_at) WHERE done_at IS NOT NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
