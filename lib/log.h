/*
 * log: one line per event on stderr, which Apache and lighttpd collect.
 *
 * Format (STYLE): "program[pid] LEVEL function: message".  Control
 * characters and non-ASCII bytes in the message are escaped as \xNN so a
 * hostile value can never forge a second log line.  This module never
 * decides what is secret: callers must not pass tokens, codes, secrets,
 * passwords or assertions (log the client_id and the outcome instead).
 */
#ifndef SMARTAUTH_LOG_H
#define SMARTAUTH_LOG_H

enum log_level {
	LOGL_ERROR = 0,
	LOGL_WARN,
	LOGL_INFO,
	LOGL_DEBUG
};

/* Sets the program name shown in every line; keeps the pointer. */
void	log_init(const char *progname);
/* Lines above this level are dropped (default LOGL_INFO). */
void	log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int	log_level_parse(const char *name);
/* Redirects output (tests); NULL restores stderr. */
void	log_set_stream(void *fp);

void	log_msg(enum log_level level, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Logs "call failed: <openssl error queue>" and clears the queue. */
void	log_ossl(const char *func, const char *call);

#define log_err(...)	log_msg(LOGL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...)	log_msg(LOGL_WARN, __func__, __VA_ARGS__)
#define log_info(...)	log_msg(LOGL_INFO, __func__, __VA_ARGS__)
#define log_debug(...)	log_msg(LOGL_DEBUG, __func__, __VA_ARGS__)
#define log_openssl(call) log_ossl(__func__, (call))

#endif
