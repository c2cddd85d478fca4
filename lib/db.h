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

/* 1 when the last failure was the database being unreachable, shutting
 * down, read-only or refusing connections (answer 503), 0 otherwise. */
int	 db_unavailable(void);
/* SQLSTATE of the last failure ("" when none or unknown). */
const char *db_last_sqlstate(void);

int	 db_begin(void);
int	 db_commit(void);
void	 db_rollback(void);

/* 0 when the database answers a trivial query. */
int	 db_ping(void);

#endif
