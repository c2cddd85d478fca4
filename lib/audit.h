/*
 * audit: security events (logins, consents, codes, token issues and
 * refreshes, reuse, revocations, RPC launches, denials) as rows of
 * smart.audit_events, readable by DBAs through smart.audit_v, plus one
 * log line each.
 *
 * detail must never hold a token, code, secret, password or assertion:
 * pass ids, scopes and reasons only.  A failure to write the audit row is
 * logged and does not change the outcome of the request (the log line
 * still records the event); callers inside a transaction get the row
 * committed or rolled back with their work.
 */
#ifndef SMARTAUTH_AUDIT_H
#define SMARTAUTH_AUDIT_H

#include <cjson/cJSON.h>

/* event: "login", "consent", "code", "token", "refresh", "code_reuse",
 * "refresh_reuse", "revoke", "rpc", "denied", ...; outcome: "success",
 * "failure", "denied".  detail may be NULL; it is not consumed. */
int	audit_event(const char *event, const char *outcome, const char *user_id,
	    const char *client_id, const char *address, const cJSON *detail);

/* The log line of audit_event alone, for a caller that writes the audit row
 * in a statement of its own (lib/issue.c issue_commit). */
void	audit_log(const char *event, const char *outcome, const char *user_id,
	    const char *client_id, const char *address);

#endif
