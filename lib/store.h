/*
 * store: the built-in FHIR store (FHIR_BACKEND = builtin) over
 * smart.fhir_resources and smart.fhir_history (sql/003, sql/004).
 *
 * Reads, version reads, instance history, type searches and the
 * _include/_revinclude look-ups, and the write path: lock the current
 * version (SELECT ... FOR UPDATE, so If-Match is checked in the same
 * transaction as the write), check a new body, write it through
 * smart.fhir_put / smart.fhir_delete (which keep meta.versionId,
 * meta.lastUpdated, the patient_id column and the history in step).
 *
 * Every statement is a static SQL text with parameters (lib/db prepares
 * each once per connection).  A search is evaluated from the JSON filter
 * of lib/fhirsearch by one fixed SQL expression: no client value and no
 * jsonpath is ever pasted into SQL, and the number of distinct statements
 * is fixed.  Each row also reports whether it passes an optional filter
 * (the token's v2 scope constraints) and its patient compartment (the
 * patient_id column, or the same expression over a history version), so
 * the gateway decides visibility from one round trip.
 *
 * Owns the rows it returns.  Never decides who may see what (that is
 * lib/gateway*), and never writes anywhere but through smart.fhir_put and
 * smart.fhir_delete.
 */
#ifndef SMARTAUTH_STORE_H
#define SMARTAUTH_STORE_H

#include <stddef.h>

#include "db.h"

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND,	/* no such resource or version */
	STORE_INVALID,		/* the database refused the resource (422) */
	STORE_CONFLICT,		/* a concurrent write won: deadlock, serialization, duplicate (409) */
	STORE_ERROR,		/* statement failure (500) */
	STORE_UNAVAILABLE	/* database down (503) */
};

/* One resource version as stored. */
struct store_res {
	char		*type;
	char		*id;
	long long	 version;
	int		 deleted;
	char		*patient;	/* compartment patient id, NULL when none */
	char		*json;		/* resource JSON text; NULL for a deletion */
	long long	 updated;	/* lastUpdated, seconds since the epoch */
	int		 ok;		/* passes the filter given (1 without one) */
};

struct store_page {
	struct store_res *v;
	size_t		 n;
	long long	 total;		/* all matches, -1 when unknown */
};

/* Call at the start of every request (nothing to reset now: the session setup is per connection). */
void	store_request_begin(void);

void	store_res_clear(struct store_res *r);
void	store_page_clear(struct store_page *p);

/*
 * Current version of type/id, deleted or not (deleted: json is the last
 * version before the deletion).  filter: JSON text of a fhirsearch filter
 * to evaluate into ->ok, or NULL.
 */
enum store_status store_read(const char *type, const char *id, const char *filter,
		    struct store_res *out);

/*
 * store_read without a filter, folded into a statement of the caller's
 * own (one statement per request): it selects STORE_READ_COLUMNS, the
 * alias f being "LEFT JOIN smart.fhir_resources f ON f.resource_type =
 * <type> AND f.id = <id>", and store_read_result_at answers as store_read
 * would from its result (borrowed; NULL when the statement failed), col
 * being the number of the first of those columns.  A NULL there (the
 * LEFT JOIN found nothing) or no row at all is STORE_NOT_FOUND.
 */
#define STORE_READ_COLUMNS \
	"f.version_id, f.deleted, f.patient_id, f.resource::text, " \
	"extract(epoch FROM f.last_updated)::bigint, true"
#define STORE_READ_NCOLS	6
enum store_status store_read_result_at(PGresult *res, int col, const char *type,
		    const char *id, struct store_res *out);

/* Version vid of type/id; ->patient is that version's compartment, and
 * *cur_patient (owned, may be NULL) the current version's. */
enum store_status store_vread(const char *type, const char *id, long long vid,
		    const char *filter, struct store_res *out, char **cur_patient);

/*
 * Instance history, newest first, versions outside patient's compartment
 * (when patient is not NULL) or failing filter left out.
 */
enum store_status store_history(const char *type, const char *id, const char *filter,
		    const char *patient, long count, long offset, struct store_page *out);

/*
 * Type search: resources of type passing filter (JSON text), in
 * patient's compartment when patient is not NULL, ordered by the date
 * parameter whose paths (JSON array text) are sort_paths, or by
 * lastUpdated when NULL, then id; a page of count from offset, with the
 * total.
 */
enum store_status store_search(const char *type, const char *filter,
		    const char *sort_paths, int desc, long count, long offset,
		    const char *patient, struct store_page *out);

/*
 * _include: the resources referenced at paths (JSON array text) from the
 * source resources src_type with ids (JSON array text), of type target
 * when not NULL.  Not deleted, at most STORE_INCLUDE_MAX.
 */
#define STORE_INCLUDE_MAX	1000
enum store_status store_include(const char *src_type, const char *ids,
		    const char *paths, const char *target, struct store_page *out);
/*
 * _revinclude: resources of src_type whose paths reference one of refs
 * (JSON array text of "Type/id"), in patient's compartment when not NULL.
 */
enum store_status store_revinclude(const char *src_type, const char *refs,
		    const char *paths, const char *patient, struct store_page *out);

/* *ok = 1 when resource (JSON text) passes filter (JSON text). */
enum store_status store_match(const char *resource, const char *filter, int *ok);

/* Transactions for the write path (nesting is the caller's business). */
int	store_begin(void);
int	store_commit(void);
void	store_rollback(void);

/*
 * Locks the current row of type/id for the rest of the transaction.
 * STORE_NOT_FOUND when there never was one; else out describes it (json
 * not filled).
 */
enum store_status store_lock(const char *type, const char *id, const char *filter,
		    struct store_res *out);

/*
 * What a new body would be once stored with this id: its compartment
 * patient (*patient owned, NULL when none) and whether it passes filter
 * (*ok).
 */
enum store_status store_check(const char *type, const char *id, const char *body,
		    const char *filter, char **patient, int *ok);

/* Writes body (a resource; its id is replaced by id) as a new version. */
enum store_status store_put(const char *body, const char *id, struct store_res *out);

/* Records a deletion; out gets the new (deleted) version. */
enum store_status store_delete(const char *type, const char *id, struct store_res *out);

/* A server-assigned id (a random UUID, which fits the id syntax). */
int	store_new_id(char *out, size_t outsz);

#endif
