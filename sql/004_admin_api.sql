-- 004_admin_api.sql: the DBA interface of DESIGN §3.
--
--   smart.put(jsonb) -> jsonb          create or replace one resource or an array
--   smart.delete(type, id) -> boolean  true when something was deleted
--   smart.get(type, id) -> jsonb       the stored resource (never a secret), or NULL
--   smart.fhir_put / smart.fhir_delete the FHIR store half of the above, for the gateway
--   smart.clients_v, users_v, roles_v, policies_v, audit_v   read-only views
--
-- put validates every field it knows, names the bad one in its error,
-- and changes nothing when any element is bad (the statement fails).  It
-- hashes secrets and passwords with bcrypt before they touch a table and
-- returns resources without them.  Changes to Client, User, Role and
-- AccessPolicy bump smart.config_version and NOTIFY smartauth_config (with
-- the resource type as payload) in the same transaction, so the programs
-- can drop their caches.
--
-- Credentials on replace: a Client put without "secret" (a User put without
-- "password") keeps the stored hash, because DBAs cannot read it back to
-- resend it; "secret": null removes it.  A value that is already a bcrypt
-- hash ($2a$, $2b$ or $2y$, 60 characters) is stored as it is, so hashes
-- can be carried over from another system.

-- Raises the validation error `ctx: msg` (SQLSTATE 22023).
CREATE FUNCTION smart._fail(ctx text, msg text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = ctx || ': ' || msg;
END
$$;

-- JSON kinds for field checks: string, text (non-empty string), boolean,
-- object, array, posint (1 .. 2^31-1), strings (array of strings).
CREATE FUNCTION smart._is(v jsonb, kind text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	t text := jsonb_typeof(v);
BEGIN
	CASE kind
	WHEN 'string' THEN RETURN t = 'string';
	WHEN 'text' THEN RETURN t = 'string' AND v #>> '{}' <> '';
	WHEN 'boolean' THEN RETURN t = 'boolean';
	WHEN 'object' THEN RETURN t = 'object';
	WHEN 'array' THEN RETURN t = 'array';
	WHEN 'posint' THEN
		IF t <> 'number' OR v::text !~ '^[1-9][0-9]{0,9}$' THEN
			RETURN false;
		END IF;
		RETURN v::text::bigint <= 2147483647;
	WHEN 'strings' THEN
		RETURN t = 'array' AND NOT EXISTS (
			SELECT 1 FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string');
	END CASE;
END
$$;

CREATE FUNCTION smart._kind_text(kind text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE kind
		WHEN 'string' THEN 'a string'
		WHEN 'text' THEN 'a non-empty string'
		WHEN 'boolean' THEN 'a boolean (true or false)'
		WHEN 'object' THEN 'an object'
		WHEN 'array' THEN 'an array'
		WHEN 'posint' THEN 'a positive integer (seconds)'
		WHEN 'strings' THEN 'an array of strings'
	END
$$;

-- Checks an optional (or, with required, mandatory) field value; JSON null
-- counts as absent.  Returns the value, or NULL when absent.
CREATE FUNCTION smart._field(ctx text, v jsonb, name text, kind text,
	required boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
	IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
		IF required THEN
			PERFORM smart._fail(ctx, name || ' is required');
		END IF;
		RETURN NULL;
	END IF;
	IF NOT smart._is(v, kind) THEN
		PERFORM smart._fail(ctx, name || ' must be ' || smart._kind_text(kind));
	END IF;
	RETURN v;
END
$$;

CREATE FUNCTION smart._valid_id(id text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$ SELECT id ~ '^[A-Za-z0-9.-]{1,64}$' $$;

-- Where a resource type goes: 'admin', 'fhir', or NULL (refused).
CREATE FUNCTION smart._type_kind(t text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE
		WHEN t IN ('Client', 'User', 'Role', 'AccessPolicy') THEN 'admin'
		-- Aidbox configuration types smartauth does not implement: storing
		-- them as FHIR data would hide the mistake.
		WHEN t IN ('AuthConfig', 'Grant', 'IdentityProvider', 'Session',
			'TokenIntrospector', 'Operation', 'App', 'Entity', 'Attribute',
			'Module', 'SearchQuery', 'Mapping', 'SubsSubscription') THEN NULL
		WHEN t ~ '^[A-Z][A-Za-z]{1,63}$' THEN 'fhir'
	END
$$;

-- A secret or password as it is stored: an existing bcrypt hash as is,
-- anything else hashed.
CREATE FUNCTION smart._credential(plain text) RETURNS text
LANGUAGE sql VOLATILE STRICT
AS $$
	SELECT CASE WHEN plain ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$' THEN plain
		ELSE smart.secret_hash(plain) END
$$;

-- Absolute URI (RFC 3986 §4.3: scheme ":" hier-part, no fragment),
-- without whitespace or control characters.  Covers https redirect URIs
-- and private-use schemes of native apps (RFC 8252 §7.1); refuses the
-- schemes a browser would execute or read locally.
CREATE FUNCTION smart._absolute_uri(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
	SELECT s ~ '^[A-Za-z][A-Za-z0-9+.-]*:[^#[:space:][:cntrl:]]+$'
	   AND s !~* '^(javascript|data|vbscript|file|about|blob):'
$$;

CREATE FUNCTION smart._http_uri(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$ SELECT s ~* '^https?://[^/?#@[:space:][:cntrl:]]+([/?][^#[:space:][:cntrl:]]*)?$' $$;

-- Bumps the configuration version and notifies listeners (on commit).
CREATE FUNCTION smart._config_changed(rtype text) RETURNS void
LANGUAGE sql
AS $$
	UPDATE smart.config_version SET version = version + 1 WHERE id = 1;
	SELECT pg_notify('smartauth_config', rtype);
$$;

-- The matcho pattern language (reference/matcho.md): checks structure,
-- operators, that every "#regex" compiles (as a PostgreSQL regex: the
-- programs use PCRE2, which accepts every pattern that passes here except
-- PostgreSQL-only escapes such as \m, \M, \y; such a policy is logged and
-- skipped, i.e. denies) and the limits the evaluator enforces (regex 1024
-- bytes, path 256, nesting 64).  path names the position in errors.
CREATE FUNCTION smart._check_matcho(ctx text, p jsonb, path text, depth int DEFAULT 0) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	s text;
	k text;
	v jsonb;
	i int;
	ops text[];
	others text[];
BEGIN
	IF depth > 64 THEN
		PERFORM _fail(ctx, format('%s: malformed matcho: nested deeper than 64 levels', path));
	END IF;
	CASE jsonb_typeof(p)
	WHEN 'string' THEN
		s := p #>> '{}';
		IF left(s, 1) = '#' AND octet_length(s) > 1025 THEN
			PERFORM _fail(ctx, format('%s: malformed matcho: regular expression longer than 1024 bytes', path));
		ELSIF left(s, 1) = '#' THEN
			BEGIN
				PERFORM '' ~ substr(s, 2);
			EXCEPTION WHEN invalid_regular_expression THEN
				PERFORM _fail(ctx, format('%s: malformed matcho: bad regular expression %s (%s)',
					path, to_jsonb(s)::text, SQLERRM));
			END;
		ELSIF left(s, 1) = '.' AND (s !~ '^(\.[^.]{1,128})+$' OR octet_length(s) > 256) THEN
			PERFORM _fail(ctx, format('%s: malformed matcho: bad path %s (expected like ".user.id")',
				path, to_jsonb(s)::text));
		END IF;
	WHEN 'array' THEN
		FOR i IN 0 .. jsonb_array_length(p) - 1 LOOP
			PERFORM _check_matcho(ctx, p -> i, format('%s[%s]', path, i), depth + 1);
		END LOOP;
	WHEN 'object' THEN
		SELECT array_agg(key ORDER BY key) FILTER (WHERE left(key, 1) = '$'),
		       array_agg(key ORDER BY key) FILTER (WHERE left(key, 1) <> '$')
		  INTO ops, others
		  FROM jsonb_object_keys(p) AS key;
		IF ops IS NULL THEN
			FOR k, v IN SELECT key, value FROM jsonb_each(p) LOOP
				PERFORM _check_matcho(ctx, v, path || '.' || k, depth + 1);
			END LOOP;
			RETURN;
		END IF;
		FOREACH k IN ARRAY ops LOOP
			IF k NOT IN ('$enum', '$one-of', '$contains', '$every', '$not',
					'$reference', '$present-all', '$length') THEN
				PERFORM _fail(ctx, format('%s.%s: malformed matcho: unknown operator %s '
					'(known: $enum, $one-of, $contains, $every, $not, $reference, $present-all, $length)',
					path, k, k));
			END IF;
		END LOOP;
		IF others IS NOT NULL
		   OR (cardinality(ops) > 1 AND ops <> ARRAY['$length', '$present-all']) THEN
			PERFORM _fail(ctx, format('%s: malformed matcho: %s cannot share an object with other keys',
				path, ops[1]));
		END IF;
		IF ops = ARRAY['$length'] THEN
			PERFORM _fail(ctx, format('%s: malformed matcho: $length goes only with $present-all', path));
		END IF;
		FOREACH k IN ARRAY ops LOOP
			v := p -> k;
			CASE k
			WHEN '$enum' THEN
				IF (CASE WHEN jsonb_typeof(v) <> 'array' THEN true
					WHEN jsonb_array_length(v) = 0 THEN true
					ELSE EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
						WHERE jsonb_typeof(e) NOT IN ('string', 'number', 'boolean')) END) THEN
					PERFORM _fail(ctx, format('%s.$enum: malformed matcho: must be a non-empty array of strings, numbers or booleans', path));
				END IF;
			WHEN '$one-of', '$present-all' THEN
				IF (CASE WHEN jsonb_typeof(v) <> 'array' THEN true
					ELSE k = '$one-of' AND jsonb_array_length(v) = 0 END) THEN
					PERFORM _fail(ctx, format('%s.%s: malformed matcho: must be a%s array of patterns',
						path, k, CASE k WHEN '$one-of' THEN ' non-empty' ELSE 'n' END));
				END IF;
				FOR i IN 0 .. jsonb_array_length(v) - 1 LOOP
					PERFORM _check_matcho(ctx, v -> i, format('%s.%s[%s]', path, k, i), depth + 2);
				END LOOP;
			WHEN '$length' THEN
				IF (CASE WHEN jsonb_typeof(v) <> 'number' OR v::text !~ '^[0-9]{1,7}$' THEN true
					ELSE v::text::int > 1000000 END) THEN
					PERFORM _fail(ctx, format('%s.$length: malformed matcho: must be an integer from 0 to 1000000', path));
				END IF;
			ELSE
				PERFORM _check_matcho(ctx, v, path || '.' || k, depth + 1);
			END CASE;
		END LOOP;
	ELSE
		NULL;	-- numbers, booleans and null match equal values
	END CASE;
END
$$;

-- One AccessPolicy rule (the policy itself, or an element of and/or).
-- prefix is '' at the top, 'and[0].' and so on below.
CREATE FUNCTION smart._check_rule(ctx text, rule jsonb, prefix text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	e text;
	key text;
	arr jsonb;
	i int;
BEGIN
	IF jsonb_typeof(rule) IS DISTINCT FROM 'object' THEN
		PERFORM _fail(ctx, rtrim(prefix, '.') || ' must be an object with an engine');
	END IF;
	PERFORM _field(ctx, rule -> 'engine', prefix || 'engine', 'string', true);
	e := rule ->> 'engine';
	IF e = 'sql' THEN
		PERFORM _fail(ctx, prefix || 'engine "sql" is not supported yet (use allow, matcho or complex)');
	ELSIF e NOT IN ('allow', 'matcho', 'complex') THEN
		PERFORM _fail(ctx, format('%sengine %s is unknown (allow, matcho or complex)',
			prefix, to_jsonb(e)::text));
	END IF;
	-- Keys of another engine signal a mistake that could over-allow
	-- (an "allow" rule carrying the matcho meant to restrict it).
	IF e <> 'matcho' AND rule ? 'matcho' THEN
		PERFORM _fail(ctx, format('%smatcho is only read by engine matcho, not %s', prefix, e));
	END IF;
	IF e <> 'complex' AND (rule ? 'and' OR rule ? 'or') THEN
		PERFORM _fail(ctx, format('%sand/or are only read by engine complex, not %s', prefix, e));
	END IF;
	IF e = 'matcho' THEN
		PERFORM _field(ctx, rule -> 'matcho', prefix || 'matcho', 'object', true);
		PERFORM _check_matcho(ctx, rule -> 'matcho', prefix || 'matcho');
	ELSIF e = 'complex' THEN
		IF rule ? 'and' AND rule ? 'or' THEN
			PERFORM _fail(ctx, prefix || 'malformed complex rule: give either and or or, not both');
		ELSIF rule ? 'and' THEN
			key := 'and';
		ELSIF rule ? 'or' THEN
			key := 'or';
		ELSE
			PERFORM _fail(ctx, prefix || 'malformed complex rule: engine complex needs an and or an or array of rules');
		END IF;
		arr := rule -> key;
		IF (CASE WHEN jsonb_typeof(arr) <> 'array' THEN true ELSE jsonb_array_length(arr) = 0 END) THEN
			PERFORM _fail(ctx, format('%s%s must be a non-empty array of rules', prefix, key));
		END IF;
		FOR i IN 0 .. jsonb_array_length(arr) - 1 LOOP
			PERFORM _check_rule(ctx, arr -> i, format('%s%s[%s].', prefix, key, i));
		END LOOP;
	END IF;
END
$$;

CREATE FUNCTION smart._put_client(ctx text, r jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	id_ text := r ->> 'id';
	known_grants text[] := ARRAY['authorization_code', 'refresh_token', 'client_credentials',
		'basic', 'password', 'implicit', 'code'];
	v jsonb;
	a jsonb;
	k text;
	name text;
	i int;
	grants text[] := '{}';
	uris text[] := '{}';
	hash text;
	sec_req boolean;
	stored jsonb := jsonb_strip_nulls(r - 'secret');
BEGIN
	-- secret
	IF r ? 'secret' AND jsonb_typeof(r -> 'secret') <> 'null' THEN
		PERFORM _field(ctx, r -> 'secret', 'secret', 'text');
		hash := _credential(r ->> 'secret');
	ELSIF NOT r ? 'secret' THEN
		SELECT secret_hash INTO hash FROM clients WHERE id = id_;
	END IF;

	-- grant_types
	v := _field(ctx, r -> 'grant_types', 'grant_types', 'array');
	IF v IS NOT NULL THEN
		FOR i IN 0 .. jsonb_array_length(v) - 1 LOOP
			IF jsonb_typeof(v -> i) <> 'string' OR NOT (v ->> i = ANY (known_grants)) THEN
				PERFORM _fail(ctx, format('grant_types[%s] must be one of %s (got %s)',
					i, array_to_string(known_grants, ', '), (v -> i)::text));
			END IF;
			IF NOT (v ->> i = ANY (grants)) THEN
				grants := grants || (v ->> i);
			END IF;
		END LOOP;
	END IF;

	-- auth.<grant>.{redirect_uri, refresh_token, secret_required, ...}
	v := _field(ctx, r -> 'auth', 'auth', 'object');
	IF v IS NOT NULL THEN
		FOR k, a IN SELECT key, value FROM jsonb_each(v) LOOP
			name := 'auth.' || k;
			IF NOT (k = ANY (known_grants)) OR k = 'refresh_token' THEN
				PERFORM _fail(ctx, format('%s is not a grant type with settings (authorization_code, client_credentials, password, implicit, basic)', name));
			END IF;
			PERFORM _field(ctx, a, name, 'object');
			CONTINUE WHEN a IS NULL OR jsonb_typeof(a) = 'null';
			IF a ? 'redirect_uri' AND jsonb_typeof(a -> 'redirect_uri') <> 'null' THEN
				IF jsonb_typeof(a -> 'redirect_uri') = 'string' THEN
					IF NOT _absolute_uri(a ->> 'redirect_uri') THEN
						PERFORM _fail(ctx, name || '.redirect_uri must be an absolute URI without a fragment');
					END IF;
					IF NOT (a ->> 'redirect_uri' = ANY (uris)) THEN
						uris := uris || (a ->> 'redirect_uri');
					END IF;
				ELSIF _is(a -> 'redirect_uri', 'strings') THEN
					FOR i IN 0 .. jsonb_array_length(a -> 'redirect_uri') - 1 LOOP
						IF NOT _absolute_uri(a -> 'redirect_uri' ->> i) THEN
							PERFORM _fail(ctx, format('%s.redirect_uri[%s] must be an absolute URI without a fragment', name, i));
						END IF;
						IF NOT (a -> 'redirect_uri' ->> i = ANY (uris)) THEN
							uris := uris || (a -> 'redirect_uri' ->> i);
						END IF;
					END LOOP;
				ELSE
					PERFORM _fail(ctx, name || '.redirect_uri must be a string or an array of strings');
				END IF;
			END IF;
			PERFORM _field(ctx, a -> 'refresh_token', name || '.refresh_token', 'boolean');
			PERFORM _field(ctx, a -> 'secret_required', name || '.secret_required', 'boolean');
			PERFORM _field(ctx, a -> 'pkce', name || '.pkce', 'boolean');
			PERFORM _field(ctx, a -> 'access_token_expiration', name || '.access_token_expiration', 'posint');
			PERFORM _field(ctx, a -> 'refresh_token_expiration', name || '.refresh_token_expiration', 'posint');
			PERFORM _field(ctx, a -> 'token_format', name || '.token_format', 'string');
		END LOOP;
	END IF;

	-- smart.launch_uri
	v := _field(ctx, r -> 'smart', 'smart', 'object');
	IF _field(ctx, v -> 'launch_uri', 'smart.launch_uri', 'string') IS NOT NULL
	   AND NOT _http_uri(v ->> 'launch_uri') THEN
		PERFORM _fail(ctx, 'smart.launch_uri must be an http(s) URL without a fragment');
	END IF;

	PERFORM _field(ctx, r -> 'scope', 'scope', 'string');
	PERFORM _field(ctx, r -> 'name', 'name', 'string');
	PERFORM _field(ctx, r -> 'type', 'type', 'string');
	PERFORM _field(ctx, r -> 'description', 'description', 'string');
	PERFORM _field(ctx, r -> 'first_party', 'first_party', 'boolean');
	PERFORM _field(ctx, r -> 'trusted', 'trusted', 'boolean');
	PERFORM _field(ctx, r -> 'active', 'active', 'boolean');

	-- jwks / jwks_uri (RFC 7591 §2: never both)
	v := _field(ctx, r -> 'jwks', 'jwks', 'object');
	IF v IS NOT NULL THEN
		PERFORM _field(ctx, v -> 'keys', 'jwks.keys', 'array', true);
		FOR i IN 0 .. jsonb_array_length(v -> 'keys') - 1 LOOP
			a := v -> 'keys' -> i;
			name := format('jwks.keys[%s]', i);
			PERFORM _field(ctx, a, name, 'object');
			PERFORM _field(ctx, a -> 'kty', name || '.kty', 'string', true);
			IF a ->> 'kty' NOT IN ('RSA', 'EC', 'OKP') THEN
				PERFORM _fail(ctx, name || '.kty must be "RSA", "EC" or "OKP"');
			END IF;
			IF a ?| ARRAY['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] THEN
				PERFORM _fail(ctx, name || ' holds private key material: register public keys only');
			END IF;
			PERFORM _field(ctx, a -> 'kid', name || '.kid', 'string');
			PERFORM _field(ctx, a -> 'alg', name || '.alg', 'string');
		END LOOP;
	END IF;
	IF _field(ctx, r -> 'jwks_uri', 'jwks_uri', 'string') IS NOT NULL THEN
		IF NOT (_http_uri(r ->> 'jwks_uri') AND (r ->> 'jwks_uri' ~* '^https://'
		        OR r ->> 'jwks_uri' ~* '^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?([/?]|$)')) THEN
			PERFORM _fail(ctx, 'jwks_uri must be an https URL (http only for 127.0.0.1, localhost or [::1])');
		END IF;
		IF v IS NOT NULL THEN
			PERFORM _fail(ctx, 'jwks and jwks_uri cannot both be given');
		END IF;
	END IF;

	sec_req := coalesce((r #>> '{auth,authorization_code,secret_required}')::boolean, hash IS NOT NULL);
	IF sec_req AND hash IS NULL THEN
		PERFORM _fail(ctx, 'auth.authorization_code.secret_required is true but the client has no secret');
	END IF;

	INSERT INTO clients AS c (id, resource, secret_hash, secret_required, active, grant_types,
		redirect_uris, launch_uri, scope, jwks, jwks_uri)
	VALUES (id_, stored, hash, sec_req, coalesce((r ->> 'active')::boolean, true), grants,
		uris, r #>> '{smart,launch_uri}', r ->> 'scope', r -> 'jwks', r ->> 'jwks_uri')
	ON CONFLICT (id) DO UPDATE SET
		resource = EXCLUDED.resource, secret_hash = EXCLUDED.secret_hash,
		secret_required = EXCLUDED.secret_required, active = EXCLUDED.active,
		grant_types = EXCLUDED.grant_types, redirect_uris = EXCLUDED.redirect_uris,
		launch_uri = EXCLUDED.launch_uri, scope = EXCLUDED.scope, jwks = EXCLUDED.jwks,
		jwks_uri = EXCLUDED.jwks_uri, updated_at = now();
	PERFORM _config_changed('Client');
	RETURN stored;
END
$$;

CREATE FUNCTION smart._put_user(ctx text, r jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	id_ text := r ->> 'id';
	v jsonb;
	fu text;
	hash text;
	stored jsonb := jsonb_strip_nulls(r - 'password');
BEGIN
	IF r ? 'password' AND jsonb_typeof(r -> 'password') <> 'null' THEN
		PERFORM _field(ctx, r -> 'password', 'password', 'text');
		hash := _credential(r ->> 'password');
	ELSIF NOT r ? 'password' THEN
		SELECT password_hash INTO hash FROM users WHERE id = id_;
	END IF;

	-- fhirUser: "Patient/pt-1", or a Reference {"reference": ...} or
	-- {"resourceType": ..., "id": ...}; stored as "Type/id".
	v := r -> 'fhirUser';
	IF v IS NOT NULL AND jsonb_typeof(v) <> 'null' THEN
		fu := CASE jsonb_typeof(v)
			WHEN 'string' THEN v #>> '{}'
			WHEN 'object' THEN coalesce(v ->> 'reference', (v ->> 'resourceType') || '/' || (v ->> 'id'))
			END;
		IF fu IS NULL OR fu !~ '^(Patient|Practitioner|PractitionerRole|RelatedPerson|Person)/[A-Za-z0-9.-]{1,64}$' THEN
			PERFORM _fail(ctx, 'fhirUser must be a reference like "Patient/<id>" or "Practitioner/<id>" '
				'(also PractitionerRole, RelatedPerson, Person)');
		END IF;
	END IF;

	PERFORM _field(ctx, r -> 'email', 'email', 'string');
	IF r ? 'name' AND jsonb_typeof(r -> 'name') NOT IN ('string', 'object', 'null') THEN
		PERFORM _fail(ctx, 'name must be a string or an object');
	END IF;
	PERFORM _field(ctx, r -> 'inactive', 'inactive', 'boolean');
	PERFORM _field(ctx, r -> 'active', 'active', 'boolean');

	INSERT INTO users (id, resource, password_hash, fhir_user, email, active)
	VALUES (id_, stored, hash, fu, r ->> 'email',
		NOT coalesce((r ->> 'inactive')::boolean, false) AND coalesce((r ->> 'active')::boolean, true))
	ON CONFLICT (id) DO UPDATE SET
		resource = EXCLUDED.resource, password_hash = EXCLUDED.password_hash,
		fhir_user = EXCLUDED.fhir_user, email = EXCLUDED.email, active = EXCLUDED.active,
		updated_at = now();
	PERFORM _config_changed('User');
	RETURN stored;
END
$$;

CREATE FUNCTION smart._put_role(ctx text, r jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	id_ text := r ->> 'id';
	uid text;
	k text;
	v jsonb;
	stored jsonb := jsonb_strip_nulls(r);
BEGIN
	PERFORM _field(ctx, r -> 'name', 'name', 'text', true);
	PERFORM _field(ctx, r -> 'user', 'user', 'object', true);
	PERFORM _field(ctx, r #> '{user,id}', 'user.id', 'text', true);
	IF (r #>> '{user,resourceType}') IS DISTINCT FROM 'User' AND r #> '{user,resourceType}' IS NOT NULL THEN
		PERFORM _fail(ctx, 'user.resourceType must be "User"');
	END IF;
	uid := r #>> '{user,id}';
	IF NOT EXISTS (SELECT 1 FROM users WHERE id = uid) THEN
		PERFORM _fail(ctx, format('user.id %s does not name an existing User (put the User first)',
			to_jsonb(uid)::text));
	END IF;
	v := _field(ctx, r -> 'links', 'links', 'object');
	IF v IS NOT NULL THEN
		FOR k IN SELECT jsonb_object_keys(v) LOOP
			PERFORM _field(ctx, v -> k, 'links.' || k, 'object');
			IF _field(ctx, v -> k -> 'id', 'links.' || k || '.id', 'string') IS NOT NULL
			   AND NOT _valid_id(v -> k ->> 'id') THEN
				PERFORM _fail(ctx, 'links.' || k || '.id must be a FHIR id ([A-Za-z0-9-.]{1,64})');
			END IF;
			PERFORM _field(ctx, v -> k -> 'resourceType', 'links.' || k || '.resourceType', 'string');
		END LOOP;
	END IF;
	PERFORM _field(ctx, r -> 'description', 'description', 'string');

	INSERT INTO roles (id, resource, name, user_id, links)
	VALUES (id_, stored, r ->> 'name', uid, coalesce(stored -> 'links', '{}'))
	ON CONFLICT (id) DO UPDATE SET
		resource = EXCLUDED.resource, name = EXCLUDED.name, user_id = EXCLUDED.user_id,
		links = EXCLUDED.links, updated_at = now();
	PERFORM _config_changed('Role');
	RETURN stored;
END
$$;

CREATE FUNCTION smart._put_policy(ctx text, r jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	id_ text := r ->> 'id';
	v jsonb;
	l jsonb;
	i int;
	name text;
	clients_ text[] := '{}';
	users_ text[] := '{}';
	stored jsonb := r;   -- kept as written: null may be a matcho value
BEGIN
	PERFORM _check_rule(ctx, r, '');
	PERFORM _field(ctx, r -> 'roleName', 'roleName', 'text');
	PERFORM _field(ctx, r -> 'description', 'description', 'string');
	v := _field(ctx, r -> 'link', 'link', 'array');
	IF v IS NOT NULL THEN
		-- An empty list would silently make the policy apply to everyone.
		IF jsonb_array_length(v) = 0 THEN
			PERFORM _fail(ctx, 'link must be a non-empty array (omit it for a policy that applies to every request)');
		END IF;
		FOR i IN 0 .. jsonb_array_length(v) - 1 LOOP
			l := v -> i;
			name := format('link[%s]', i);
			PERFORM _field(ctx, l, name, 'object');
			-- {"reference": "Client/x"} is read as {"resourceType": "Client", "id": "x"}
			IF l ? 'reference' AND NOT (l ? 'resourceType' OR l ? 'id') THEN
				PERFORM _field(ctx, l -> 'reference', name || '.reference', 'string');
				l := jsonb_build_object('resourceType', split_part(l ->> 'reference', '/', 1),
					'id', substr(l ->> 'reference', strpos(l ->> 'reference', '/') + 1));
				IF strpos(v -> i ->> 'reference', '/') = 0 THEN
					PERFORM _fail(ctx, name || '.reference must be "Client/<id>" or "User/<id>"');
				END IF;
			END IF;
			IF jsonb_typeof(l -> 'resourceType') IS DISTINCT FROM 'string'
			   OR l ->> 'resourceType' NOT IN ('Client', 'User') THEN
				PERFORM _fail(ctx, name || '.resourceType must be "Client" or "User"');
			END IF;
			PERFORM _field(ctx, l -> 'id', name || '.id', 'text', true);
			IF NOT _valid_id(l ->> 'id') THEN
				PERFORM _fail(ctx, name || '.id must be an id ([A-Za-z0-9-.]{1,64})');
			END IF;
			IF l ->> 'resourceType' = 'Client' THEN
				clients_ := clients_ || (l ->> 'id');
			ELSE
				users_ := users_ || (l ->> 'id');
			END IF;
		END LOOP;
	END IF;

	INSERT INTO access_policies (id, resource, engine, role_name, link_clients, link_users)
	VALUES (id_, stored, r ->> 'engine', r ->> 'roleName', clients_, users_)
	ON CONFLICT (id) DO UPDATE SET
		resource = EXCLUDED.resource, engine = EXCLUDED.engine, role_name = EXCLUDED.role_name,
		link_clients = EXCLUDED.link_clients, link_users = EXCLUDED.link_users, updated_at = now();
	PERFORM _config_changed('AccessPolicy');
	RETURN stored;
END
$$;

-- Common checks of one resource; returns the error context
-- 'smart.put: Type "id"'.
CREATE FUNCTION smart._check_head(fn text, r jsonb) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	t text;
	ctx text;
BEGIN
	IF jsonb_typeof(r) IS DISTINCT FROM 'object' THEN
		PERFORM _fail(fn, 'a resource must be a JSON object, not ' || coalesce(jsonb_typeof(r), 'NULL'));
	END IF;
	IF NOT r ? 'resourceType' OR jsonb_typeof(r -> 'resourceType') = 'null' THEN
		PERFORM _fail(fn, 'resourceType is required');
	END IF;
	IF jsonb_typeof(r -> 'resourceType') <> 'string' THEN
		PERFORM _fail(fn, 'resourceType must be a string');
	END IF;
	t := r ->> 'resourceType';
	IF _type_kind(t) IS NULL THEN
		PERFORM _fail(fn, format('resourceType %s is unknown (Client, User, Role, AccessPolicy or a FHIR resource type)',
			to_jsonb(left(t, 80))::text));
	END IF;
	ctx := fn || ': ' || t;
	IF NOT r ? 'id' OR jsonb_typeof(r -> 'id') = 'null' OR r ->> 'id' = '' THEN
		PERFORM _fail(ctx, 'id is required');
	END IF;
	IF jsonb_typeof(r -> 'id') <> 'string' THEN
		PERFORM _fail(ctx, 'id must be a string');
	END IF;
	ctx := format('%s %s', ctx, to_jsonb(left(r ->> 'id', 80))::text);
	IF NOT _valid_id(r ->> 'id') THEN
		PERFORM _fail(ctx, 'id must be 1 to 64 characters from A-Z a-z 0-9 - .');
	END IF;
	RETURN ctx;
END
$$;

-- Stores a checked FHIR resource in the built-in store: a new version with
-- meta.versionId and meta.lastUpdated set, and its history row.  Returns
-- the stored resource.  No configuration bump: FHIR data is not cached.
CREATE FUNCTION smart._fhir_store(ctx text, r jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	t text := r ->> 'resourceType';
	id_ text := r ->> 'id';
	ts timestamptz := date_trunc('milliseconds', now());
	stamp jsonb := jsonb_build_object('lastUpdated',
		to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
	v bigint;
	stored jsonb;
BEGIN
	IF _type_kind(t) <> 'fhir' THEN
		PERFORM _fail(ctx, 'not a FHIR resource type (use smart.put)');
	END IF;
	PERFORM _field(ctx, r -> 'meta', 'meta', 'object');
	stamp := coalesce(r -> 'meta', '{}') || stamp;
	INSERT INTO fhir_resources AS f (resource_type, id, version_id, last_updated, deleted, resource)
	VALUES (t, id_, 1, ts, false, r || jsonb_build_object('meta', stamp || '{"versionId": "1"}'))
	ON CONFLICT (resource_type, id) DO UPDATE SET
		version_id = f.version_id + 1, last_updated = ts, deleted = false,
		resource = r || jsonb_build_object('meta',
			stamp || jsonb_build_object('versionId', (f.version_id + 1)::text))
	RETURNING f.version_id, f.resource INTO v, stored;
	INSERT INTO fhir_history (resource_type, id, version_id, last_updated, deleted, resource)
	VALUES (t, id_, v, ts, false, stored);
	RETURN stored;
END
$$;

-- smart.fhir_put(resource): smart.put for one FHIR resource, for the
-- gateway (which assigns ids on create and checks versions itself).
CREATE FUNCTION smart.fhir_put(r jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT smart._fhir_store(smart._check_head('smart.fhir_put', r), r) $$;

-- Deletes a FHIR resource (a new, deleted version).  False when there is
-- no current version.
CREATE FUNCTION smart.fhir_delete(rtype text, rid text) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	ts timestamptz := date_trunc('milliseconds', now());
	v bigint;
BEGIN
	UPDATE fhir_resources SET version_id = version_id + 1, last_updated = ts, deleted = true
	 WHERE resource_type = rtype AND id = rid AND NOT deleted
	RETURNING version_id INTO v;
	IF v IS NULL THEN
		RETURN false;
	END IF;
	INSERT INTO fhir_history (resource_type, id, version_id, last_updated, deleted, resource)
	VALUES (rtype, rid, v, ts, true, NULL);
	RETURN true;
END
$$;

CREATE FUNCTION smart._put_one(r jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	ctx text := _check_head('smart.put', r);
BEGIN
	CASE r ->> 'resourceType'
	WHEN 'Client' THEN RETURN _put_client(ctx, r);
	WHEN 'User' THEN RETURN _put_user(ctx, r);
	WHEN 'Role' THEN RETURN _put_role(ctx, r);
	WHEN 'AccessPolicy' THEN RETURN _put_policy(ctx, r);
	ELSE RETURN _fhir_store(ctx, r);
	END CASE;
END
$$;

-- smart.put(resource or array): create or replace by (resourceType, id).
-- An array is stored all or nothing; its Roles are stored after everything
-- else, so a Role may come before its User.  Returns the stored resource
-- (or the array of them, in the given order) without secrets.
CREATE FUNCTION smart.put(res jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	n int;
	i int;
	pass int;
	el jsonb;
	out_ jsonb[];
	st text;
	msg text;
	det text;
BEGIN
	IF res IS NULL THEN
		PERFORM _fail('smart.put', 'argument is NULL');
	END IF;
	IF jsonb_typeof(res) = 'object' THEN
		-- Re-raised here only to keep the error's CONTEXT to one line.
		BEGIN
			RETURN _put_one(res);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
				det = PG_EXCEPTION_DETAIL;
			IF det = '' THEN
				RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg;
			END IF;
			RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det;
		END;
	END IF;
	IF jsonb_typeof(res) <> 'array' THEN
		PERFORM _fail('smart.put', 'expects a resource (JSON object) or an array of resources');
	END IF;
	n := jsonb_array_length(res);
	IF n = 0 THEN
		RETURN '[]';
	END IF;
	out_ := array_fill(NULL::jsonb, ARRAY[n]);
	FOR pass IN 1 .. 2 LOOP
		FOR i IN 0 .. n - 1 LOOP
			el := res -> i;
			CONTINUE WHEN (pass = 2) <> (el ->> 'resourceType' IS NOT DISTINCT FROM 'Role');
			BEGIN
				out_[i + 1] := _put_one(el);
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
					det = PG_EXCEPTION_DETAIL;
				RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg,
					DETAIL = concat_ws(E'\n', nullif(det, ''),
						format('in element %s of the array (counting from 0); nothing was stored', i));
			END;
		END LOOP;
	END LOOP;
	RETURN to_jsonb(out_);
END
$$;

-- smart.delete(resourceType, id): true when something was deleted.
-- Deleting a Client also deletes its tokens, codes, launch contexts and
-- consents; deleting a User also its Roles, sessions, tokens and consents.
-- A FHIR resource gets a deleted version (its history stays).
CREATE FUNCTION smart.delete(rtype text, rid text) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, smart, pg_temp
AS $$
DECLARE
	n int;
BEGIN
	CASE _type_kind(rtype)
	WHEN 'admin' THEN
		CASE rtype
		WHEN 'Client' THEN DELETE FROM clients WHERE id = rid;
		WHEN 'User' THEN DELETE FROM users WHERE id = rid;
		WHEN 'Role' THEN DELETE FROM roles WHERE id = rid;
		WHEN 'AccessPolicy' THEN DELETE FROM access_policies WHERE id = rid;
		END CASE;
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n > 0 THEN
			PERFORM _config_changed(rtype);
		END IF;
		RETURN n > 0;
	WHEN 'fhir' THEN
		RETURN fhir_delete(rtype, rid);
	ELSE
		PERFORM _fail('smart.delete', format('resourceType %s is unknown', to_jsonb(rtype)::text));
	END CASE;
	RETURN false;
END
$$;

-- smart.get(resourceType, id): the stored resource (never a secret or a
-- password hash), or NULL.
CREATE FUNCTION smart.get(rtype text, rid text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, smart, pg_temp
AS $$
BEGIN
	CASE rtype
	WHEN 'Client' THEN RETURN (SELECT resource FROM clients WHERE id = rid);
	WHEN 'User' THEN RETURN (SELECT resource FROM users WHERE id = rid);
	WHEN 'Role' THEN RETURN (SELECT resource FROM roles WHERE id = rid);
	WHEN 'AccessPolicy' THEN RETURN (SELECT resource FROM access_policies WHERE id = rid);
	ELSE
		IF _type_kind(rtype) IS DISTINCT FROM 'fhir' THEN
			PERFORM _fail('smart.get', format('resourceType %s is unknown', to_jsonb(rtype)::text));
		END IF;
		RETURN (SELECT resource FROM fhir_resources
			WHERE resource_type = rtype AND id = rid AND NOT deleted);
	END CASE;
END
$$;

COMMENT ON FUNCTION smart.put(jsonb) IS
	'create or replace Client, User, Role, AccessPolicy or FHIR resources (one or an array, all or nothing)';
COMMENT ON FUNCTION smart.delete(text, text) IS 'delete a resource by type and id; true when found';
COMMENT ON FUNCTION smart.get(text, text) IS 'a stored resource without secrets, or NULL';

-- Read-only views for DBAs: no hashes, only whether one is set.
CREATE VIEW smart.clients_v AS
SELECT id, resource ->> 'name' AS name, resource ->> 'type' AS type, active, grant_types,
       redirect_uris, launch_uri, scope, secret_hash IS NOT NULL AS has_secret,
       secret_required, jwks IS NOT NULL AS has_jwks, jwks_uri, created_at, updated_at
  FROM smart.clients;

CREATE VIEW smart.users_v AS
SELECT u.id, u.fhir_user, u.email, u.active, u.password_hash IS NOT NULL AS has_password,
       coalesce((SELECT array_agg(r.name ORDER BY r.name) FROM smart.roles r WHERE r.user_id = u.id),
                '{}') AS roles,
       u.created_at, u.updated_at
  FROM smart.users u;

CREATE VIEW smart.roles_v AS
SELECT id, name, user_id, links, created_at, updated_at FROM smart.roles;

CREATE VIEW smart.policies_v AS
SELECT id, engine, role_name, link_clients, link_users, resource ->> 'description' AS description,
       resource, updated_at
  FROM smart.access_policies;

CREATE VIEW smart.audit_v AS
SELECT id, at, user_id, client_id, event, outcome, address, detail FROM smart.audit_events;

CREATE FUNCTION smart._read_only_view() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
		MESSAGE = format('%I.%I is read-only: change data with smart.put and smart.delete',
			TG_TABLE_SCHEMA, TG_TABLE_NAME);
END
$$;

DO $$
DECLARE
	v text;
BEGIN
	FOREACH v IN ARRAY ARRAY['clients_v', 'users_v', 'roles_v', 'policies_v', 'audit_v'] LOOP
		EXECUTE format('CREATE TRIGGER read_only INSTEAD OF INSERT OR UPDATE OR DELETE ON smart.%I '
			'FOR EACH ROW EXECUTE FUNCTION smart._read_only_view()', v);
	END LOOP;
END
$$;
