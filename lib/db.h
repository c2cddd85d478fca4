/*
 * db: the one PostgreSQL connection of a program, with prepared
 * statements and transparent reconnection.
 *
 * Statements are identified by their SQL text (pass string literals) and
 * prepared once per connection.  When the connection breaks (database
 * restart, failover) the next call reconnects; a statement outside a
 * transaction is retried once on the new connection.  While the database
 * stays unreachable, calls fail fast and db_unavailable() says so, so the
 * caller answers 503 with Retry-After instead of crashing or hanging.
 *
 * Only parameterised statements exist here: no function builds SQL from
 * input.  Parameters are never logged (they may be secrets or hashes).
 */
#ifndef SMARTAUTH_DB_H
#define SMARTAUTH_DB_H

#include <stddef.h>

#include <libpq-fe.h>

/* Remembers the connection string (copied) and the program name; does not connect. */
int	 db_init(const char *conninfo, const char *appname, long connect_timeout);
void	 db_close(void);

/*
 * Runs a prepared statement; nparams text parameters (NULL = SQL NULL).
 * Returns an owned result (PQclear) whose status is COMMAND_OK or
 * TUPLES_OK, or NULL on any failure (logged; see db_unavailable).
 */
PGresult *db_exec(const char *sql, int nparams, const char *const *params);

/* db_exec for a statement whose rows do not matter: 0, or -1 on failure. */
int	 db_exec_cmd(const char *sql, int nparams, const char *const *params);

/*
 * db_exec for an existence test or an UPDATE ... RETURNING that must hit
 * one row: 1 when exactly one row came back, 0 otherwise, -1 on failure.
 */
int	 db_exec_row(const char *sql, int nparams, const char *const *params);

/*
 * db_exec for a lookup of one row: 1 with *res the owned result (PQclear)
 * holding exactly one row; 0 when not exactly one row came back and -1 on
 * failure, both with *res NULL.
 */
int	 db_exec_fetch(const char *sql, int nparams, const char *const *params, PGresult **res);

/*
 * A number that changes whenever a new connection is made (0 before the
 * first): session settings made with SET or set_config are lost with the
 * connection, so a module that needs one re-applies it when this changed.
 */
unsigned long db_connection_serial(void);

/* 1 when the last failure was the database being unreachable, shutting
 * down, read-only or refusing connections (answer 503), 0 otherwise. */
int	 db_unavailable(void);
/* SQLSTATE of the last failure ("" when none or unknown). */
const char *db_last_sqlstate(void);

/* One statement of a batch (db_exec_batch). */
struct db_stmt {
	const char		*sql;		/* static SQL text, as for db_exec */
	int			 nparams;
	const char *const	*params;
	PGresult		*res;		/* out: owned result (PQclear), or NULL */
};

/*
 * Runs the n statements of v in ONE round trip (libpq pipeline mode, one
 * Sync at the end), in order, each prepared as db_exec would.  Outside a
 * transaction they run in one implicit transaction, so a statement that
 * fails aborts the ones after it.  Returns 0 when every statement
 * succeeded (each v[i].res set, COMMAND_OK or TUPLES_OK); -1 otherwise
 * (also for n = 0 or more than 8 statements),
 * logged, with every v[i].res NULL (db_unavailable tells a database that
 * went away).  Outside a transaction a broken connection is reopened and
 * the batch retried once, as db_exec does.
 */
int	 db_exec_batch(struct db_stmt *v, size_t n);

int	 db_begin(void);
int	 db_commit(void);
void	 db_rollback(void);

/* 0 when the database answers a trivial query. */
int	 db_ping(void);

/*
 * 0 when the database answers and takes writes (one round trip); -1
 * otherwise, logged, with db_unavailable() set.  A database that answers
 * but is read-only (a hot standby, default_transaction_read_only) gives
 * db_last_sqlstate() "25006", and its session is closed so that the next
 * connection looks for a writable primary again.
 */
int	 db_ping_writable(void);

#endif
