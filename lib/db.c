/*
 * db: one libpq connection per process.  See db.h.
 *
 * Owns the connection, the copy of the connection string and the table
 * of prepared statement names.  Never logs statement parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"

#define DB_MAX_STMTS	128
/* Most statements in one db_exec_batch. */
#define DB_BATCH_MAX	8
/* After a failed connect, calls fail fast for this long (ms). */
#define DB_RETRY_MS	250

static PGconn		*db_conn;
static char		*db_conninfo;
static char		 db_appname[64] = "smartauth";
static char		 db_timeout[16] = "3";
static const char	*db_stmts[DB_MAX_STMTS];	/* SQL text pointers prepared on db_conn */
static int		 db_nstmts;
static int		 db_in_tx;
static int		 db_down;
static char		 db_state[6];
static char		 db_connect_failed[6];	/* db_state of the last failed connect */
static long long	 db_next_try_ms;
static unsigned long	 db_serial;		/* connections made so far */

static long long
db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
db_init(const char *conninfo, const char *appname, long connect_timeout)
{
	free(db_conninfo);
	if ((db_conninfo = strdup(conninfo)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	if (appname != NULL)
		snprintf(db_appname, sizeof(db_appname), "%s", appname);
	snprintf(db_timeout, sizeof(db_timeout), "%ld", connect_timeout);
	return 0;
}

static void
db_drop(void)
{
	if (db_conn != NULL)
		PQfinish(db_conn);
	db_conn = NULL;
	db_nstmts = 0;
	db_in_tx = 0;
}

void
db_close(void)
{
	db_drop();
	free(db_conninfo);
	db_conninfo = NULL;
}

/*
 * The SQLSTATE a refused connection stands for, from libpq's message (a
 * failed connection has no result to carry one).  libpq's own texts are
 * matched: "session is read-only" and "server is in hot standby mode" are
 * its refusals under target_session_attrs=read-write / primary, i.e. only
 * standbys were found (a failover in progress).  Anything else is a
 * connection failure.
 */
static const char *
db_connect_state(const char *msg)
{
	if (strstr(msg, "session is read-only") != NULL ||
	    strstr(msg, "server is in hot standby mode") != NULL)
		return "25006";
	if (strstr(msg, "too many clients") != NULL)
		return "53300";
	if (strstr(msg, "the database system is starting up") != NULL ||
	    strstr(msg, "the database system is in recovery mode") != NULL ||
	    strstr(msg, "not yet accepting connections") != NULL)
		return "57P03";
	if (strstr(msg, "the database system is shutting down") != NULL)
		return "57P01";
	return "08006";
}

/* Connects when there is no usable connection; 0 when connected. */
static int
db_connect(void)
{
	/* Our keys come first: values in the connection string override them. */
	/* JIT off: short OLTP statements; the planner's estimates for jsonb
	 * search filters would otherwise trigger seconds of compilation. */
	const char *keys[] = { "connect_timeout", "application_name", "keepalives_idle",
	    "options", "dbname", NULL };
	const char *vals[] = { db_timeout, db_appname, "30", "-c jit=off", db_conninfo, NULL };
	long long now;

	if (db_conn != NULL && PQstatus(db_conn) == CONNECTION_OK)
		return 0;
	db_drop();
	if (db_conninfo == NULL) {
		log_err("database not configured");
		return -1;
	}
	now = db_now_ms();
	if (now < db_next_try_ms) {
		/* Failing fast: the cause is that of the last attempt. */
		db_down = 1;
		snprintf(db_state, sizeof(db_state), "%s", db_connect_failed);
		return -1;
	}
	db_conn = PQconnectdbParams(keys, vals, 1);
	if (db_conn == NULL || PQstatus(db_conn) != CONNECTION_OK) {
		const char *m = db_conn != NULL ? PQerrorMessage(db_conn) : "out of memory";
		char line[768];
		size_t n;

		/* One line per host tried (a multi-host string): join them,
		 * so that the log says why each host was refused. */
		snprintf(line, sizeof(line), "%s", m);
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
			line[--n] = '\0';
		for (n = strcspn(line, "\n"); line[n] != '\0'; n += strcspn(line + n, "\n")) {
			line[n] = ';';
			if (line[n + 1] == '\t')
				line[n + 1] = ' ';
		}
		log_err("cannot connect to the database: %s", line);
		db_drop();
		db_down = 1;
		snprintf(db_state, sizeof(db_state), "%s", db_connect_state(line));
		snprintf(db_connect_failed, sizeof(db_connect_failed), "%s", db_state);
		db_next_try_ms = now + DB_RETRY_MS;
		return -1;
	}
	log_info("connected to the database");
	db_serial++;
	return 0;
}

/* Classifies a failed result: sets db_down for connectivity-type failures. */
static void
db_classify(PGresult *res)
{
	const char *st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	snprintf(db_state, sizeof(db_state), "%s", st != NULL ? st : "");
	db_down = db_conn == NULL || PQstatus(db_conn) != CONNECTION_OK ||
	    strncmp(db_state, "08", 2) == 0 ||		/* connection exception */
	    strcmp(db_state, "57P01") == 0 ||		/* admin_shutdown */
	    strcmp(db_state, "57P02") == 0 ||		/* crash_shutdown */
	    strcmp(db_state, "57P03") == 0 ||		/* cannot_connect_now */
	    strcmp(db_state, "53300") == 0 ||		/* too_many_connections */
	    strcmp(db_state, "25006") == 0;		/* read_only_sql_transaction */
}

/* Why the database cannot be used, for the log line (no parameters in it). */
static const char *
db_cause(void)
{
	if (strcmp(db_state, "25006") == 0)
		return "the database is read-only (a standby, or default_transaction_read_only)";
	if (strcmp(db_state, "53300") == 0)
		return "too many connections";
	if (strcmp(db_state, "57P01") == 0)
		return "the server is shutting down";
	if (strcmp(db_state, "57P02") == 0)
		return "the server crashed";
	if (strcmp(db_state, "57P03") == 0)
		return "the server is starting up or in recovery";
	return "connection lost";
}

static const char *
db_stmt_name(const char *sql, char *name, size_t namesz, int *prepared)
{
	int i;

	for (i = 0; i < db_nstmts; i++)
		if (db_stmts[i] == sql) {
			*prepared = 1;
			snprintf(name, namesz, "s%d", i);
			return name;
		}
	*prepared = 0;
	if (db_nstmts == DB_MAX_STMTS)
		return NULL;		/* run unprepared */
	snprintf(name, namesz, "s%d", db_nstmts);
	return name;
}

static PGresult *
db_try(const char *sql, int nparams, const char *const *params)
{
	char name[16];
	const char *n;
	int prepared;
	PGresult *res;

	n = db_stmt_name(sql, name, sizeof(name), &prepared);
	if (n != NULL && !prepared) {
		res = PQprepare(db_conn, n, sql, nparams, NULL);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		db_stmts[db_nstmts++] = sql;
	}
	if (n != NULL)
		return PQexecPrepared(db_conn, n, nparams, params, NULL, NULL, 0);
	return PQexecParams(db_conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

/* What db_exec and db_exec_batch do after a failed attempt. */
enum db_next { DB_REPORT, DB_RETRY, DB_GIVE_UP };

/*
 * Decides after a failed statement, once db_classify has run (err: its
 * result, borrowed, or NULL).  A statement error, or a failure inside a
 * transaction (in_tx), is logged and reported (DB_REPORT; a connection
 * that is down is dropped).  Otherwise the connection is dropped in every
 * case: a lost connection or a server shutting down is worth one
 * reconnect-and-retry (DB_RETRY); a read-only or full database is not
 * (DB_GIVE_UP), but the session must not outlive the condition either (a
 * read-only session stays read-only after the database is made writable
 * again; after a failover a new connection with
 * target_session_attrs=read-write finds the primary).
 */
static enum db_next
db_after_failure(const PGresult *err, int in_tx)
{
	int lost;

	if (!db_down || in_tx) {
		if (db_down)
			log_err("database unavailable in a transaction: %s (SQLSTATE %s)",
			    db_cause(), db_state[0] ? db_state : "-");
		else
			log_err("statement failed: SQLSTATE %s: %s", db_state[0] ? db_state : "-",
			    err != NULL ? PQresultErrorField(err, PG_DIAG_MESSAGE_PRIMARY) : "?");
		if (db_down)
			db_drop();
		return DB_REPORT;
	}
	lost = db_conn == NULL || PQstatus(db_conn) != CONNECTION_OK ||
	    strncmp(db_state, "57P", 3) == 0 || strncmp(db_state, "08", 2) == 0;
	db_drop();
	return lost ? DB_RETRY : DB_GIVE_UP;
}

PGresult *
db_exec(const char *sql, int nparams, const char *const *params)
{
	PGresult *res;
	ExecStatusType st;
	int attempt, rc;

	db_down = 0;
	db_state[0] = '\0';
	for (attempt = 0; attempt < 2; attempt++) {
		if (db_connect() == -1)
			return NULL;
		res = db_try(sql, nparams, params);
		st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return res;
		db_classify(res);
		rc = db_after_failure(res, db_in_tx);
		PQclear(res);
		if (rc == DB_REPORT)
			return NULL;
		if (rc == DB_GIVE_UP)
			break;
	}
	log_err("database unavailable: %s (SQLSTATE %s)", db_cause(),
	    db_state[0] ? db_state : "-");
	return NULL;
}

/* Frees every result of a batch. */
static void
db_batch_clear(struct db_stmt *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		PQclear(v[i].res);
		v[i].res = NULL;
	}
}

/*
 * One attempt at a batch on the current connection.  Statements not yet
 * prepared on this connection are prepared first (one round trip each, once
 * per connection); then every statement is sent, followed by one Sync, and
 * the results are read in order.  Returns 0, or -1 with *err the first
 * failed result (owned; NULL when there was none, e.g. a lost connection).
 */
static int
db_batch_try(struct db_stmt *v, size_t n, PGresult **err)
{
	char names[DB_BATCH_MAX][16];
	const char *nm[DB_BATCH_MAX];
	ExecStatusType st;
	PGresult *res;
	size_t i;
	int prepared, rc = 0;

	*err = NULL;
	for (i = 0; i < n; i++) {
		nm[i] = db_stmt_name(v[i].sql, names[i], sizeof(names[i]), &prepared);
		if (nm[i] != NULL && !prepared) {
			res = PQprepare(db_conn, nm[i], v[i].sql, v[i].nparams, NULL);
			if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
				*err = res;
				return -1;
			}
			PQclear(res);
			db_stmts[db_nstmts++] = v[i].sql;
		}
	}
	if (PQenterPipelineMode(db_conn) != 1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((nm[i] != NULL ? PQsendQueryPrepared(db_conn, nm[i], v[i].nparams, v[i].params,
		    NULL, NULL, 0) : PQsendQueryParams(db_conn, v[i].sql, v[i].nparams, NULL,
		    v[i].params, NULL, NULL, 0)) != 1)
			goto broken;
	}
	if (PQpipelineSync(db_conn) != 1)
		goto broken;
	for (i = 0; i < n; i++) {
		if ((res = PQgetResult(db_conn)) == NULL)
			goto broken;
		st = PQresultStatus(res);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			v[i].res = res;
		else {
			/* The first failure says why; those after it were aborted. */
			if (*err == NULL && st != PGRES_PIPELINE_ABORTED)
				*err = res;
			else
				PQclear(res);
			rc = -1;
		}
		/* Each statement's results end with a NULL. */
		if ((res = PQgetResult(db_conn)) != NULL) {
			PQclear(res);
			goto broken;
		}
	}
	res = PQgetResult(db_conn);
	st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	PQclear(res);
	if (st != PGRES_PIPELINE_SYNC || PQexitPipelineMode(db_conn) != 1)
		goto broken;
	return rc;
broken:
	/* Out of step with the server: this connection is done for. */
	if (*err == NULL && PQstatus(db_conn) != CONNECTION_OK)
		snprintf(db_state, sizeof(db_state), "08006");
	db_drop();
	return -1;
}

int
db_exec_batch(struct db_stmt *v, size_t n)
{
	PGresult *err;
	int attempt, rc, in_tx = db_in_tx;

	db_down = 0;
	db_state[0] = '\0';
	if (n == 0 || n > DB_BATCH_MAX) {
		log_err("a batch holds 1 to %d statements, not %zu", DB_BATCH_MAX, n);
		return -1;
	}
	/* The same decisions as db_exec, with the same log lines. */
	for (attempt = 0; attempt < 2; attempt++) {
		db_batch_clear(v, n);
		if (db_connect() == -1)
			return -1;
		if (db_batch_try(v, n, &err) == 0)
			return 0;
		db_batch_clear(v, n);
		if (err == NULL && db_conn == NULL) {
			/* Connection lost: db_batch_try dropped it. */
			db_down = 1;
			if (db_state[0] == '\0')
				snprintf(db_state, sizeof(db_state), "08006");
		} else
			db_classify(err);
		rc = db_after_failure(err, in_tx);
		PQclear(err);
		if (rc == DB_REPORT)
			return -1;
		if (rc == DB_GIVE_UP)
			break;
	}
	log_err("database unavailable: %s (SQLSTATE %s)", db_cause(),
	    db_state[0] ? db_state : "-");
	return -1;
}

int
db_exec_cmd(const char *sql, int nparams, const char *const *params)
{
	PGresult *res;

	if ((res = db_exec(sql, nparams, params)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
db_exec_row(const char *sql, int nparams, const char *const *params)
{
	PGresult *res;
	int rc;

	if ((res = db_exec(sql, nparams, params)) == NULL)
		return -1;
	rc = PQntuples(res) == 1;
	PQclear(res);
	return rc;
}

int
db_exec_fetch(const char *sql, int nparams, const char *const *params, PGresult **res)
{
	if ((*res = db_exec(sql, nparams, params)) == NULL)
		return -1;
	if (PQntuples(*res) != 1) {
		PQclear(*res);
		*res = NULL;
		return 0;
	}
	return 1;
}

unsigned long
db_connection_serial(void)
{
	return db_conn != NULL ? db_serial : 0;
}

int
db_unavailable(void)
{
	return db_down;
}

const char *
db_last_sqlstate(void)
{
	return db_state;
}

static int
db_simple(const char *sql)
{
	PGresult *res = db_exec(sql, 0, NULL);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

int
db_begin(void)
{
	if (db_simple("BEGIN") == -1)
		return -1;
	db_in_tx = 1;
	return 0;
}

int
db_commit(void)
{
	PGresult *res;
	int rc = -1;

	db_down = 0;
	db_state[0] = '\0';
	if (db_conn == NULL || PQstatus(db_conn) != CONNECTION_OK) {
		db_down = 1;
		snprintf(db_state, sizeof(db_state), "08006");
		log_err("database unavailable at COMMIT: connection lost");
		db_drop();
		return -1;
	}
	/*
	 * COMMIT goes as a simple query, never as a prepared statement.  An
	 * extended-protocol Execute of COMMIT is answered CommandComplete,
	 * and the server then reads the Sync that follows; a fast shutdown
	 * (or pg_terminate_backend) arriving in between sends its FATAL
	 * before ReadyForQuery, and libpq reports that error for a
	 * transaction that did commit: the client would be told 503 for a
	 * code or refresh token already spent, and its retry would look like
	 * a replay.  A simple query's reply ends with ReadyForQuery before the
	 * server looks at interrupts again.  (A connection cut while COMMIT
	 * is in flight stays ambiguous, as for every database client.)
	 */
	res = PQexec(db_conn, "COMMIT");
	if (res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK) {
		/* COMMIT of a transaction that had failed reports success but
		 * rolls back: its command tag is ROLLBACK.  A failure. */
		if (strcmp(PQcmdStatus(res), "COMMIT") == 0)
			rc = 0;
		else
			log_err("transaction was rolled back at COMMIT");
	} else {
		db_classify(res);
		if (db_down)
			log_err("database unavailable at COMMIT: %s (SQLSTATE %s)", db_cause(),
			    db_state[0] ? db_state : "-");
		else
			log_err("COMMIT failed: SQLSTATE %s: %s", db_state,
			    res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "?");
	}
	PQclear(res);
	if (rc == -1 && db_down)
		db_drop();
	db_in_tx = 0;
	return rc;
}

void
db_rollback(void)
{
	if (db_conn != NULL && PQstatus(db_conn) == CONNECTION_OK) {
		PGresult *res = PQexec(db_conn, "ROLLBACK");

		PQclear(res);
	}
	db_in_tx = 0;
}

int
db_ping(void)
{
	return db_simple("SELECT 1");
}

int
db_ping_writable(void)
{
	PGresult *res;
	int ro;

	/*
	 * One round trip.  transaction_read_only is on in a hot standby and
	 * when default_transaction_read_only is (it is read in the implicit
	 * transaction of this very statement, so a reloaded setting shows).
	 */
	if ((res = db_exec("SELECT pg_is_in_recovery() OR "
	    "current_setting('transaction_read_only') = 'on'", 0, NULL)) == NULL)
		return -1;
	ro = PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "f") != 0;
	PQclear(res);
	if (!ro)
		return 0;
	db_down = 1;
	snprintf(db_state, sizeof(db_state), "25006");
	log_err("database unavailable: %s (SQLSTATE %s)", db_cause(), db_state);
	/* A new connection (target_session_attrs=read-write) may find a primary. */
	db_drop();
	return -1;
}
