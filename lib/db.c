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
static long long	 db_next_try_ms;

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
		db_down = 1;
		return -1;
	}
	db_conn = PQconnectdbParams(keys, vals, 1);
	if (db_conn == NULL || PQstatus(db_conn) != CONNECTION_OK) {
		const char *m = db_conn != NULL ? PQerrorMessage(db_conn) : "out of memory";
		char line[256];
		size_t n;

		snprintf(line, sizeof(line), "%s", m);
		n = strcspn(line, "\n");
		line[n] = '\0';
		log_err("cannot connect to the database: %s", line);
		db_drop();
		db_down = 1;
		snprintf(db_state, sizeof(db_state), "08006");
		db_next_try_ms = now + DB_RETRY_MS;
		return -1;
	}
	log_info("connected to the database");
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

PGresult *
db_exec(const char *sql, int nparams, const char *const *params)
{
	PGresult *res;
	ExecStatusType st;
	int attempt;

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
		if (!db_down || db_in_tx) {
			/* A statement error, or a broken transaction: report it. */
			if (db_down)
				log_err("database connection lost in a transaction (SQLSTATE %s)",
				    db_state[0] ? db_state : "-");
			else
				log_err("statement failed: SQLSTATE %s: %s", db_state,
				    res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "?");
			PQclear(res);
			if (db_down)
				db_drop();
			return NULL;
		}
		PQclear(res);
		if (PQstatus(db_conn) != CONNECTION_OK || strncmp(db_state, "57P", 3) == 0 ||
		    strncmp(db_state, "08", 2) == 0)
			db_drop();	/* reconnect and retry once */
		else
			break;		/* e.g. read-only: retrying will not help */
	}
	log_err("database unavailable (SQLSTATE %s)", db_state[0] ? db_state : "-");
	return NULL;
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
	PGresult *res = db_exec("COMMIT", 0, NULL);
	int rc = -1;

	/* COMMIT of a transaction that had failed reports success but rolls
	 * back: its command tag is ROLLBACK.  Treat that as a failure. */
	if (res != NULL) {
		if (strcmp(PQcmdStatus(res), "COMMIT") == 0)
			rc = 0;
		else
			log_err("transaction was rolled back at COMMIT");
		PQclear(res);
	}
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
