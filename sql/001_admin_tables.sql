-- 001_admin_tables.sql: schema smart, the credential helpers and the
-- administrative resources (Client, User, Role, AccessPolicy).
--
-- Each admin table keeps the resource as the DBA wrote it (the Aidbox
-- shape) in a jsonb column `resource`, minus any secret or password, and
-- copies into plain columns what the programs look up on every request.
-- Rows are written only by smart.put / smart.delete (004), which keep the
-- two in step; do not UPDATE these tables by hand.
--
-- Run by scripts/migrate inside one transaction; never BEGIN/COMMIT here.

CREATE SCHEMA IF NOT EXISTS smart;
COMMENT ON SCHEMA smart IS 'smartauth: SMART on FHIR authorization server state';

-- pgcrypto provides bcrypt (crypt/gen_salt).  A database that already has
-- the extension keeps it where it is; otherwise it goes into schema smart.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto') THEN
		CREATE EXTENSION pgcrypto WITH SCHEMA smart;
	END IF;
END
$$;

-- The two credential helpers call pgcrypto by its qualified name, so they
-- work whatever the caller's search_path and wherever the extension lives.
DO $$
DECLARE
	s text := (SELECT n.nspname FROM pg_extension e
		JOIN pg_namespace n ON n.oid = e.extnamespace
		WHERE e.extname = 'pgcrypto');
BEGIN
	EXECUTE format($f$
		CREATE OR REPLACE FUNCTION smart.secret_hash(plain text) RETURNS text
		LANGUAGE sql VOLATILE STRICT
		AS 'SELECT %1$I.crypt(plain, %1$I.gen_salt(''bf'', 10))'
	$f$, s);
	-- pgcrypto knows only the $2a$ prefix; $2b$ and $2y$ hashes (from
	-- other bcrypt implementations) compute identically for passwords
	-- shorter than 256 bytes, so they are checked under the $2a$ name.
	EXECUTE format($f$
		CREATE OR REPLACE FUNCTION smart.secret_verify(hash text, plain text) RETURNS boolean
		LANGUAGE sql VOLATILE
		AS 'SELECT hash IS NOT NULL AND plain IS NOT NULL
			AND hash ~ ''^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$''
			AND %1$I.crypt(plain, ''$2a$'' || substr(hash, 5)) = ''$2a$'' || substr(hash, 5)'
	$f$, s);
END
$$;
COMMENT ON FUNCTION smart.secret_hash(text) IS
	'bcrypt (cost 10) of a client secret or user password';
COMMENT ON FUNCTION smart.secret_verify(text, text) IS
	'true when plain matches the bcrypt hash ($2a$, $2b$ or $2y$); false for a NULL hash';

-- Programs cache configuration and poll this one row cheaply
-- (SELECT version FROM smart.config_version) or LISTEN smartauth_config.
-- smart.put/smart.delete bump it in the same transaction as the change.
CREATE TABLE smart.config_version (
	id      int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	version bigint NOT NULL DEFAULT 0
);
INSERT INTO smart.config_version (id, version) VALUES (1, 0);

-- bcrypt hashes only: a plaintext secret can never land in these columns.
CREATE DOMAIN smart.bcrypt_hash AS text
	CHECK (VALUE ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$');

CREATE TABLE smart.clients (
	id              text PRIMARY KEY,
	resource        jsonb NOT NULL,          -- Aidbox shape, without "secret"
	secret_hash     smart.bcrypt_hash,       -- NULL: public client
	secret_required boolean NOT NULL,        -- auth.authorization_code.secret_required, default: has a secret
	active          boolean NOT NULL DEFAULT true,
	grant_types     text[] NOT NULL DEFAULT '{}',
	redirect_uris   text[] NOT NULL DEFAULT '{}', -- auth.authorization_code.redirect_uri, exact match
	launch_uri      text,                    -- smart.launch_uri
	scope           text,                    -- scopes the client may ask for (space separated), NULL: any
	jwks            jsonb,                   -- {"keys": [...]} public keys for private_key_jwt
	jwks_uri        text,
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	CHECK (NOT resource ? 'secret')
);
CREATE INDEX clients_grant_types_idx ON smart.clients USING gin (grant_types);

CREATE TABLE smart.users (
	id            text PRIMARY KEY,
	resource      jsonb NOT NULL,            -- Aidbox shape, without "password"
	password_hash smart.bcrypt_hash,         -- NULL: cannot log in with a password
	fhir_user     text,                      -- "Patient/pt-1", "Practitioner/pr-1", ...
	email         text,
	active        boolean NOT NULL DEFAULT true,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now(),
	CHECK (NOT resource ? 'password')
);
CREATE INDEX users_email_idx ON smart.users (lower(email));
CREATE INDEX users_fhir_user_idx ON smart.users (fhir_user);

-- Deleting a User deletes its Roles (a Role without its user means nothing).
CREATE TABLE smart.roles (
	id         text PRIMARY KEY,
	resource   jsonb NOT NULL,
	name       text NOT NULL,                -- matched by AccessPolicy.roleName
	user_id    text NOT NULL REFERENCES smart.users (id) ON DELETE CASCADE,
	links      jsonb NOT NULL DEFAULT '{}',  -- {"patient": {"id": "pt-1", ...}, ...}
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX roles_user_idx ON smart.roles (user_id, name);
CREATE INDEX roles_name_idx ON smart.roles (name);

CREATE TABLE smart.access_policies (
	id           text PRIMARY KEY,
	resource     jsonb NOT NULL,             -- engine, matcho / and / or, roleName, link
	engine       text NOT NULL CHECK (engine IN ('allow', 'matcho', 'complex')),
	role_name    text,                       -- roleName
	link_clients text[] NOT NULL DEFAULT '{}', -- link[] ids with resourceType Client
	link_users   text[] NOT NULL DEFAULT '{}', -- link[] ids with resourceType User
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_policies_role_idx ON smart.access_policies (role_name);
CREATE INDEX access_policies_clients_idx ON smart.access_policies USING gin (link_clients);
CREATE INDEX access_policies_users_idx ON smart.access_policies USING gin (link_users);
