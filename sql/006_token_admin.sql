-- 006_token_admin.sql: revocation functions for DBAs (RFC 7009 §2 has the
-- endpoint; this is the same power for an operator who must cut off a user
-- or a client at once, e.g. a stolen laptop or a compromised app).
--
--   smart.revoke_user(user_id text)     every live token and login session of a user
--   smart.revoke_client(client_id text) every live token of a client, and the login
--                                       sessions those tokens came from
--
-- Each returns one row (revoked_access_tokens, revoked_refresh_tokens,
-- revoked_sessions, deleted_codes) and writes one smart.audit_events row
-- (event "revoke", detail {"by": function, "db_user": ..., counts}).
-- "Live" means not yet revoked and not expired; refresh tokens already
-- rotated out count as dead.  Unredeemed authorization codes are deleted,
-- so a code in flight cannot be turned into tokens afterwards.  Revoked
-- access tokens are refused by the FHIR gateway and reported inactive by
-- introspection on the very next request (both read revoked_at).  The
-- user or client itself stays as it is: deactivate it with smart.put
-- ("active": false) to stop new logins or grants.  An unknown id raises
-- SQLSTATE P0002 (no_data_found) naming it, so a typo is not mistaken for
-- "nothing to revoke".

CREATE OR REPLACE FUNCTION smart.revoke_user(user_id text)
RETURNS TABLE (revoked_access_tokens bigint, revoked_refresh_tokens bigint,
	revoked_sessions bigint, deleted_codes bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	na bigint;
	nr bigint;
	ns bigint;
	nc bigint;
BEGIN
	IF $1 IS NULL OR NOT EXISTS (SELECT 1 FROM smart.users u WHERE u.id = $1) THEN
		RAISE EXCEPTION USING ERRCODE = 'no_data_found',
			MESSAGE = format('smart.revoke_user: no User %L', $1);
	END IF;
	-- Refresh-token rows first, in token_hash order: the order the token
	-- program locks a family in, so a concurrent replay cannot deadlock us.
	PERFORM 1 FROM smart.refresh_tokens r
	 WHERE r.user_id = $1 AND r.revoked_at IS NULL ORDER BY r.token_hash FOR UPDATE;
	UPDATE smart.access_tokens SET revoked_at = now()
	 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now();
	GET DIAGNOSTICS na = ROW_COUNT;
	UPDATE smart.refresh_tokens SET revoked_at = now()
	 WHERE user_id = $1 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > now();
	GET DIAGNOSTICS nr = ROW_COUNT;
	UPDATE smart.sessions SET revoked_at = now()
	 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now();
	GET DIAGNOSTICS ns = ROW_COUNT;
	DELETE FROM smart.authorization_codes WHERE user_id = $1 AND used_at IS NULL;
	GET DIAGNOSTICS nc = ROW_COUNT;
	INSERT INTO smart.audit_events (user_id, client_id, event, outcome, detail)
	VALUES ($1, NULL, 'revoke', 'success', jsonb_build_object(
		'by', 'smart.revoke_user', 'db_user', session_user::text,
		'revoked_access_tokens', na, 'revoked_refresh_tokens', nr,
		'revoked_sessions', ns, 'deleted_codes', nc));
	revoked_access_tokens := na;
	revoked_refresh_tokens := nr;
	revoked_sessions := ns;
	deleted_codes := nc;
	RETURN NEXT;
END
$$;

CREATE OR REPLACE FUNCTION smart.revoke_client(client_id text)
RETURNS TABLE (revoked_access_tokens bigint, revoked_refresh_tokens bigint,
	revoked_sessions bigint, deleted_codes bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	na bigint;
	nr bigint;
	ns bigint;
	nc bigint;
BEGIN
	IF $1 IS NULL OR NOT EXISTS (SELECT 1 FROM smart.clients c WHERE c.id = $1) THEN
		RAISE EXCEPTION USING ERRCODE = 'no_data_found',
			MESSAGE = format('smart.revoke_client: no Client %L', $1);
	END IF;
	-- Refresh-token rows first, in token_hash order (see revoke_user).
	PERFORM 1 FROM smart.refresh_tokens r
	 WHERE r.client_id = $1 AND r.revoked_at IS NULL ORDER BY r.token_hash FOR UPDATE;
	-- The login sessions that gave this client its live grants: a session
	-- that fed a compromised client is ended too (users log in again).
	UPDATE smart.sessions s SET revoked_at = now()
	 WHERE s.revoked_at IS NULL AND s.expires_at > now() AND s.session_hash IN (
		SELECT a.session_hash FROM smart.access_tokens a
		 WHERE a.client_id = $1 AND a.revoked_at IS NULL AND a.expires_at > now()
		   AND a.session_hash IS NOT NULL
		UNION
		SELECT r.session_hash FROM smart.refresh_tokens r
		 WHERE r.client_id = $1 AND r.revoked_at IS NULL AND r.used_at IS NULL
		   AND r.expires_at > now() AND r.session_hash IS NOT NULL
		UNION
		SELECT k.session_hash FROM smart.authorization_codes k
		 WHERE k.client_id = $1 AND k.used_at IS NULL AND k.session_hash IS NOT NULL);
	GET DIAGNOSTICS ns = ROW_COUNT;
	UPDATE smart.access_tokens SET revoked_at = now()
	 WHERE client_id = $1 AND revoked_at IS NULL AND expires_at > now();
	GET DIAGNOSTICS na = ROW_COUNT;
	UPDATE smart.refresh_tokens SET revoked_at = now()
	 WHERE client_id = $1 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > now();
	GET DIAGNOSTICS nr = ROW_COUNT;
	DELETE FROM smart.authorization_codes WHERE client_id = $1 AND used_at IS NULL;
	GET DIAGNOSTICS nc = ROW_COUNT;
	INSERT INTO smart.audit_events (user_id, client_id, event, outcome, detail)
	VALUES (NULL, $1, 'revoke', 'success', jsonb_build_object(
		'by', 'smart.revoke_client', 'db_user', session_user::text,
		'revoked_access_tokens', na, 'revoked_refresh_tokens', nr,
		'revoked_sessions', ns, 'deleted_codes', nc));
	revoked_access_tokens := na;
	revoked_refresh_tokens := nr;
	revoked_sessions := ns;
	deleted_codes := nc;
	RETURN NEXT;
END
$$;

COMMENT ON FUNCTION smart.revoke_user(text) IS
	'revoke every live access and refresh token and login session of a user; delete its unredeemed codes';
COMMENT ON FUNCTION smart.revoke_client(text) IS
	'revoke every live access and refresh token of a client and the login sessions they came from; delete its unredeemed codes';
