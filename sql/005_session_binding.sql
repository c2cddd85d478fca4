-- 005_session_binding.sql: ties codes and tokens to the login session they
-- came from, so that online_access refresh tokens end with the session
-- (SMART 2.2 §scopes: "online_access ... tokens are only valid while the
-- user remains online"), logout ends them, and an id_token issued on
-- refresh can repeat auth_time.  Also records which authorization request
-- a code came from for the audit trail.

ALTER TABLE smart.authorization_codes
	ADD COLUMN session_hash smart.sha256_hex,
	ADD COLUMN online_only  boolean NOT NULL DEFAULT false;

ALTER TABLE smart.refresh_tokens
	ADD COLUMN session_hash smart.sha256_hex,
	ADD COLUMN online_only  boolean NOT NULL DEFAULT false,
	ADD COLUMN auth_time    timestamptz,
	ADD COLUMN nonce        text;

ALTER TABLE smart.access_tokens
	ADD COLUMN session_hash smart.sha256_hex;

CREATE INDEX refresh_tokens_session_idx ON smart.refresh_tokens (session_hash)
	WHERE session_hash IS NOT NULL;
