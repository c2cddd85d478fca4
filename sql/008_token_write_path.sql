-- 008_token_write_path.sql: makes the rows every token response writes
-- cheaper, without changing what a DBA sees or can rely on.
--
-- Measured with the refresh grant's statement (consume + access row +
-- successor refresh row + audit row), 4 concurrent sessions: the four
-- foreign keys of access_tokens and refresh_tokens cost about a quarter of
-- PostgreSQL's time per grant, because each insert locks its client's and
-- its user's row FOR KEY SHARE, and concurrent grants of one application
-- all lock the same client row (a MultiXact per overlap).  The B-tree
-- indexes on expires_at and audit_events.at, which only the purge and
-- time-range reports use, cost a page split's share on every insert.
--
-- 1. The foreign keys from access_tokens and refresh_tokens to clients and
--    users become triggers that keep what ON DELETE CASCADE promised:
--    deleting (or renaming) a Client or User deletes its tokens at once.
--    Without the key, a grant that commits in the same instant as the
--    deletion of its client or user could leave a row behind.  Such a row
--    is inert: every reader joins the token to its client (and to its user
--    when it has one) and treats a missing one as not active - the FHIR
--    gateway, introspection, and the refresh grant, which also requires
--    the user to exist and be active.  It cannot come back to life either:
--    creating a Client or User deletes any token rows still carrying its
--    id, and smart.purge_expired() removes it when it expires.
-- 2. expires_at and audit_events.at get BRIN indexes instead of B-trees:
--    rows arrive in time order, the purge and "what happened between" both
--    ask for ranges, and a BRIN index costs almost nothing per insert.
--    audit_events (event, at) is dropped: the BRIN index on at and a
--    filter on event answer the same reports.
-- 3. Codes and refresh tokens are updated once after insertion (used_at,
--    replaced_by, revoked_at are not indexed); a fill factor below 100
--    leaves room on the page so the update is a HOT update that touches no
--    index.

ALTER TABLE smart.access_tokens
	DROP CONSTRAINT access_tokens_client_id_fkey,
	DROP CONSTRAINT access_tokens_user_id_fkey;
ALTER TABLE smart.refresh_tokens
	DROP CONSTRAINT refresh_tokens_client_id_fkey,
	DROP CONSTRAINT refresh_tokens_user_id_fkey;

-- The triggers below serve smart.clients and smart.users alike: TG_ARGV[0]
-- names the token column that holds their id (client_id or user_id).

-- Deleted clients or users: their tokens go in the same transaction.
CREATE FUNCTION smart._tokens_of_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = smart, pg_temp AS $$
BEGIN
	EXECUTE format('DELETE FROM smart.access_tokens t USING gone g WHERE t.%I = g.id',
		TG_ARGV[0]);
	EXECUTE format('DELETE FROM smart.refresh_tokens t USING gone g WHERE t.%I = g.id',
		TG_ARGV[0]);
	RETURN NULL;
END
$$;
CREATE TRIGGER clients_delete_tokens AFTER DELETE ON smart.clients
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION smart._tokens_of_deleted('client_id');
CREATE TRIGGER users_delete_tokens AFTER DELETE ON smart.users
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION smart._tokens_of_deleted('user_id');

-- A renamed id (the keys refused it): its tokens go, as if the client or
-- user had been deleted and created anew.
CREATE FUNCTION smart._tokens_of_renamed() RETURNS trigger
LANGUAGE plpgsql SET search_path = smart, pg_temp AS $$
BEGIN
	EXECUTE format('DELETE FROM smart.access_tokens t USING '
		'(SELECT id FROM old_rows EXCEPT SELECT id FROM new_rows) g WHERE t.%I = g.id',
		TG_ARGV[0]);
	EXECUTE format('DELETE FROM smart.refresh_tokens t USING '
		'(SELECT id FROM old_rows EXCEPT SELECT id FROM new_rows) g WHERE t.%I = g.id',
		TG_ARGV[0]);
	RETURN NULL;
END
$$;
CREATE TRIGGER clients_rename_tokens AFTER UPDATE ON smart.clients
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smart._tokens_of_renamed('client_id');
CREATE TRIGGER users_rename_tokens AFTER UPDATE ON smart.users
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smart._tokens_of_renamed('user_id');

-- A client or user created (not replaced) under an id that had tokens
-- before: rows left by a grant that raced the old one's deletion are not
-- its tokens.
CREATE FUNCTION smart._tokens_of_created() RETURNS trigger
LANGUAGE plpgsql SET search_path = smart, pg_temp AS $$
BEGIN
	EXECUTE format('DELETE FROM smart.access_tokens WHERE %I = $1', TG_ARGV[0]) USING NEW.id;
	EXECUTE format('DELETE FROM smart.refresh_tokens WHERE %I = $1', TG_ARGV[0]) USING NEW.id;
	RETURN NULL;
END
$$;
CREATE TRIGGER clients_new_tokens AFTER INSERT ON smart.clients
	FOR EACH ROW EXECUTE FUNCTION smart._tokens_of_created('client_id');
CREATE TRIGGER users_new_tokens AFTER INSERT ON smart.users
	FOR EACH ROW EXECUTE FUNCTION smart._tokens_of_created('user_id');

-- Time-ordered indexes.
DROP INDEX smart.access_tokens_expires_idx;
DROP INDEX smart.refresh_tokens_expires_idx;
DROP INDEX smart.audit_events_at_idx;
DROP INDEX smart.audit_events_event_idx;
CREATE INDEX access_tokens_expires_idx ON smart.access_tokens USING brin (expires_at);
CREATE INDEX refresh_tokens_expires_idx ON smart.refresh_tokens USING brin (expires_at);
CREATE INDEX audit_events_at_idx ON smart.audit_events USING brin (at);

-- Room for the one update each row gets.
ALTER TABLE smart.refresh_tokens SET (fillfactor = 80);
ALTER TABLE smart.authorization_codes SET (fillfactor = 80);
