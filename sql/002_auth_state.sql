-- 002_auth_state.sql: what the programs write while they serve requests:
-- login sessions, authorization requests in progress, EHR launch contexts,
-- authorization codes, access and refresh tokens, client-assertion JWT ids,
-- consents, login attempts and the audit trail.
--
-- Every opaque value a browser or app presents (session cookie, request id,
-- launch id, code, refresh token) is stored only as the lower-case hex
-- SHA-256 of its text; the CHECKs below refuse anything else, so a
-- plaintext token can never be stored by mistake.  Access tokens are
-- signed JWTs recorded by their jti (not a secret).
--
-- Rows that belong to a Client or User go away with it (ON DELETE
-- CASCADE): deleting a client revokes everything it holds.  The audit
-- trail and login attempts have no foreign keys: they outlive what they
-- mention.  smart.purge_expired() removes dead rows; schedule it.

CREATE DOMAIN smart.sha256_hex AS text CHECK (VALUE ~ '^[0-9a-f]{64}$');

-- Login sessions (the authorize program's cookie).
CREATE TABLE smart.sessions (
	session_hash smart.sha256_hex PRIMARY KEY,
	user_id      text NOT NULL REFERENCES smart.users (id) ON DELETE CASCADE,
	auth_time    timestamptz NOT NULL DEFAULT now(),   -- when the password was checked
	created_at   timestamptz NOT NULL DEFAULT now(),
	last_seen_at timestamptz NOT NULL DEFAULT now(),
	expires_at   timestamptz NOT NULL,
	revoked_at   timestamptz,                           -- logout
	remote_addr  text,
	user_agent   text
);
CREATE INDEX sessions_user_idx ON smart.sessions (user_id);
CREATE INDEX sessions_expires_idx ON smart.sessions (expires_at);

-- An /auth/authorize request between its arrival and the redirect with a
-- code: the hidden "request id" of the login, picker and consent forms.
CREATE TABLE smart.authorize_requests (
	request_hash          smart.sha256_hex PRIMARY KEY,
	client_id             text NOT NULL REFERENCES smart.clients (id) ON DELETE CASCADE,
	redirect_uri          text NOT NULL,   -- already matched against the client's
	scope                 text NOT NULL DEFAULT '',
	state                 text,
	nonce                 text,
	aud                   text,
	code_challenge        text,
	code_challenge_method text,
	launch_hash           smart.sha256_hex, -- EHR launch: the launch id presented
	csrf_hash             smart.sha256_hex, -- the form's CSRF token
	session_hash          smart.sha256_hex, -- bound after login
	user_id               text REFERENCES smart.users (id) ON DELETE CASCADE,
	patient_id            text,             -- chosen in the patient picker
	granted_scope         text,             -- after consent
	params                jsonb NOT NULL DEFAULT '{}', -- anything else the flow needs
	created_at            timestamptz NOT NULL DEFAULT now(),
	expires_at            timestamptz NOT NULL,
	completed_at          timestamptz
);
CREATE INDEX authorize_requests_expires_idx ON smart.authorize_requests (expires_at);

-- Launch contexts created by POST /rpc (aidbox.smart/get-launch-uri):
-- single use, short lived, bound to user and client.
CREATE TABLE smart.launch_contexts (
	launch_hash smart.sha256_hex PRIMARY KEY,
	client_id   text NOT NULL REFERENCES smart.clients (id) ON DELETE CASCADE,
	user_id     text REFERENCES smart.users (id) ON DELETE CASCADE,
	context     jsonb NOT NULL DEFAULT '{}', -- {"patient": "pt-1", "encounter": "...", "fhirContext": [...]}
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	used_at     timestamptz
);
CREATE INDEX launch_contexts_expires_idx ON smart.launch_contexts (expires_at);

-- Authorization codes: 60 s, single use.  family_id names the grant: every
-- access and refresh token issued from this code carries it, so a replayed
-- code (used_at already set) revokes them all with one UPDATE.
CREATE TABLE smart.authorization_codes (
	code_hash             smart.sha256_hex PRIMARY KEY,
	family_id             uuid NOT NULL DEFAULT gen_random_uuid(),
	client_id             text NOT NULL REFERENCES smart.clients (id) ON DELETE CASCADE,
	user_id               text REFERENCES smart.users (id) ON DELETE CASCADE,
	redirect_uri          text NOT NULL,
	scope                 text NOT NULL DEFAULT '',
	launch_context        jsonb NOT NULL DEFAULT '{}', -- patient, encounter, fhirContext, need_patient_banner, ...
	nonce                 text,
	code_challenge        text,
	code_challenge_method text,
	auth_time             timestamptz,
	issued_at             timestamptz NOT NULL DEFAULT now(),
	expires_at            timestamptz NOT NULL,
	used_at               timestamptz,
	CHECK (expires_at > issued_at)
);
CREATE INDEX authorization_codes_family_idx ON smart.authorization_codes (family_id);
CREATE INDEX authorization_codes_expires_idx ON smart.authorization_codes (expires_at);

-- Access tokens (JWTs), by jti, for introspection and revocation.
CREATE TABLE smart.access_tokens (
	jti            text PRIMARY KEY,
	family_id      uuid,                   -- NULL for client_credentials tokens
	client_id      text NOT NULL REFERENCES smart.clients (id) ON DELETE CASCADE,
	user_id        text REFERENCES smart.users (id) ON DELETE CASCADE,
	scope          text NOT NULL DEFAULT '',
	launch_context jsonb NOT NULL DEFAULT '{}',
	issued_at      timestamptz NOT NULL DEFAULT now(),
	expires_at     timestamptz NOT NULL,
	revoked_at     timestamptz
);
CREATE INDEX access_tokens_family_idx ON smart.access_tokens (family_id) WHERE family_id IS NOT NULL;
CREATE INDEX access_tokens_client_idx ON smart.access_tokens (client_id);
CREATE INDEX access_tokens_user_idx ON smart.access_tokens (user_id);
CREATE INDEX access_tokens_expires_idx ON smart.access_tokens (expires_at);

-- Refresh tokens, by SHA-256 hex of the token.  Rotation: redeeming sets
-- used_at and replaced_by and inserts the successor with the same
-- family_id; presenting a token whose used_at is set is reuse, and revokes
-- the whole family (access tokens included).
CREATE TABLE smart.refresh_tokens (
	token_hash     smart.sha256_hex PRIMARY KEY,
	family_id      uuid NOT NULL,
	client_id      text NOT NULL REFERENCES smart.clients (id) ON DELETE CASCADE,
	user_id        text REFERENCES smart.users (id) ON DELETE CASCADE,
	scope          text NOT NULL DEFAULT '',
	launch_context jsonb NOT NULL DEFAULT '{}',
	issued_at      timestamptz NOT NULL DEFAULT now(),
	expires_at     timestamptz NOT NULL,
	used_at        timestamptz,
	replaced_by    smart.sha256_hex,
	revoked_at     timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON smart.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_client_idx ON smart.refresh_tokens (client_id);
CREATE INDEX refresh_tokens_user_idx ON smart.refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_idx ON smart.refresh_tokens (expires_at);

-- jti of client assertions (private_key_jwt) already accepted: an INSERT
-- that hits the primary key is a replay.  Kept until the assertion expires.
CREATE TABLE smart.jwt_ids (
	client_id  text NOT NULL,
	jti        text NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (client_id, jti)
);
CREATE INDEX jwt_ids_expires_idx ON smart.jwt_ids (expires_at);

-- What a user allowed a client; revoked_at set by the user or a DBA.
CREATE TABLE smart.consents (
	user_id    text NOT NULL REFERENCES smart.users (id) ON DELETE CASCADE,
	client_id  text NOT NULL REFERENCES smart.clients (id) ON DELETE CASCADE,
	scopes     text[] NOT NULL DEFAULT '{}',
	granted_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	revoked_at timestamptz,
	PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_idx ON smart.consents (client_id);

-- Login attempts, for throttling by user name and by address.
CREATE TABLE smart.login_attempts (
	id       bigserial PRIMARY KEY,
	at       timestamptz NOT NULL DEFAULT now(),
	username text,
	address  text,
	success  boolean NOT NULL
);
CREATE INDEX login_attempts_username_idx ON smart.login_attempts (username, at);
CREATE INDEX login_attempts_address_idx ON smart.login_attempts (address, at);

-- Security events: logins, grants, token issue/refresh/revocation,
-- denials.  detail never holds a token, code, secret or password.
CREATE TABLE smart.audit_events (
	id        bigserial PRIMARY KEY,
	at        timestamptz NOT NULL DEFAULT now(),
	user_id   text,
	client_id text,
	event     text NOT NULL,   -- e.g. login, authorize, token, refresh, revoke, introspect, fhir, rpc
	outcome   text NOT NULL,   -- e.g. success, failure, denied
	address   text,
	detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at_idx ON smart.audit_events (at);
CREATE INDEX audit_events_user_idx ON smart.audit_events (user_id, at);
CREATE INDEX audit_events_client_idx ON smart.audit_events (client_id, at);
CREATE INDEX audit_events_event_idx ON smart.audit_events (event, at);

-- Removes rows that can no longer matter: expired sessions, requests,
-- launch contexts, codes, tokens and JWT ids older than `grace`, and login
-- attempts older than `grace`.  The audit trail is never purged here.
-- Returns one row per table with the number of rows deleted.
CREATE FUNCTION smart.purge_expired(grace interval DEFAULT '1 day')
RETURNS TABLE (table_name text, deleted bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	cutoff timestamptz := now() - grace;
	n bigint;
BEGIN
	DELETE FROM sessions WHERE expires_at < cutoff OR revoked_at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT; table_name := 'sessions'; deleted := n; RETURN NEXT;
	DELETE FROM authorize_requests WHERE expires_at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT; table_name := 'authorize_requests'; deleted := n; RETURN NEXT;
	DELETE FROM launch_contexts WHERE expires_at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT; table_name := 'launch_contexts'; deleted := n; RETURN NEXT;
	DELETE FROM authorization_codes WHERE expires_at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT; table_name := 'authorization_codes'; deleted := n; RETURN NEXT;
	DELETE FROM access_tokens WHERE expires_at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT; table_name := 'access_tokens'; deleted := n; RETURN NEXT;
	DELETE FROM refresh_tokens WHERE expires_at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT; table_name := 'refresh_tokens'; deleted := n; RETURN NEXT;
	DELETE FROM jwt_ids WHERE expires_at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT; table_name := 'jwt_ids'; deleted := n; RETURN NEXT;
	DELETE FROM login_attempts WHERE at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT; table_name := 'login_attempts'; deleted := n; RETURN NEXT;
END
$$;
