/*
 * audit: audit rows and log lines.  See audit.h.
 */
#include <cjson/cJSON.h>

#include "audit.h"
#include "db.h"
#include "log.h"

void
audit_log(const char *event, const char *outcome, const char *user_id,
    const char *client_id, const char *address)
{
	log_info("audit %s %s user=%s client=%s addr=%s", event, outcome,
	    user_id ? user_id : "-", client_id ? client_id : "-", address ? address : "-");
}

int
audit_event(const char *event, const char *outcome, const char *user_id,
    const char *client_id, const char *address, const cJSON *detail)
{
	static const char sql[] =
	    "INSERT INTO smart.audit_events (event, outcome, user_id, client_id, address, detail) "
	    "VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'::jsonb))";
	const char *params[6];
	char *d = NULL;
	PGresult *res;

	if (detail != NULL)
		d = cJSON_PrintUnformatted(detail);
	params[0] = event;
	params[1] = outcome;
	params[2] = user_id;
	params[3] = client_id;
	params[4] = address != NULL && *address != '\0' ? address : NULL;
	params[5] = d;
	audit_log(event, outcome, user_id, client_id, address);
	res = db_exec(sql, 6, params);
	cJSON_free(d);
	if (res == NULL) {
		log_err("could not write the audit row for %s", event);
		return -1;
	}
	PQclear(res);
	return 0;
}
