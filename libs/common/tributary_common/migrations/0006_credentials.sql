-- Credentials (#14): refresh token, expiry, scopes, token type and kind, and a version
-- per connection. access_token and refresh_token hold Fernet ciphertext (see
-- tributary_common.credentials.box); plaintext rows written before this migration are
-- encrypted by `tributary-scheduler migrate` right after the SQL (it has the key; SQL has not).
ALTER TABLE connections
    ADD COLUMN refresh_token text,
    ADD COLUMN token_expires_at timestamptz,
    -- When the current access token was issued (Instagram refreshes only tokens >= 24 h old).
    ADD COLUMN token_issued_at timestamptz,
    ADD COLUMN scopes text,
    ADD COLUMN token_type text NOT NULL DEFAULT 'bearer',
    -- user: an OAuth user token; personal: a personal access token (never refreshed);
    -- system_user: a Meta business system-user token (non-expiring, or 60-day refreshable).
    ADD COLUMN token_kind text NOT NULL DEFAULT 'user'
        CHECK (token_kind IN ('user', 'personal', 'system_user')),
    -- +1 on every credential write; refreshes compare-and-set on it.
    ADD COLUMN credential_version bigint NOT NULL DEFAULT 1,
    -- The fencing token of the refresh that wrote the credential: a write carrying an
    -- older fence than the stored one is refused.
    ADD COLUMN refresh_fence bigint NOT NULL DEFAULT 0,
    ADD COLUMN refreshed_at timestamptz;

-- Connections whose token expires soon, per provider (the `expiring` state and metrics).
CREATE INDEX connections_token_expiry ON connections (provider, token_expires_at)
    WHERE token_expires_at IS NOT NULL;
