/*
 * fhirsearch: FHIR R4 search parameters (FHIR R4 §3.1.1 "Search") for the
 * built-in store: the definitions in smart.search_params, and the parsing
 * of a search request into a filter the store evaluates in SQL.
 *
 * A search is turned into data, never into SQL text: a JSON "filter" is a
 * list of clauses that must all hold; a clause is a list of groups of
 * which one must hold; a group is a list of conditions that must all
 * hold.  A condition is
 *   {"k": kind, "p": [jsonpath...], "v": [value...], "n": negate}
 * and holds when some value found at one of the paths matches one of the
 * values (or, with "n", when none does).  Kinds and their values:
 *   token  {"s": system or null, "c": code}  (each member optional:
 *          absent = any; "s": null = no system, the "|code" form)
 *   ref    {"t": type, "i": id} | {"i": id} (any type) | {"u": reference}
 *   str    {"s": text, "m": "prefix" | "exact" | "contains"}
 *   date   {"o": eq|ne|lt|gt|le|ge|sa|eb|ap, "lo": instant, "hi": instant}
 *          (the search value's range [lo, hi), in UTC)
 *   any    [true]   (":missing": some value exists; negated for missing=true)
 * The store (lib/store.c) evaluates a filter with one static SQL text;
 * paths come from smart.search_params only and are passed as parameters
 * cast to jsonpath.  The gateway adds a clause per v2 scope constraint
 * (SMART 2.2 §scopes: "patient/Observation.rs?category=...") whose
 * groups are the granting scopes, so union semantics hold.
 *
 * Supported: _id, _lastUpdated, token (system|code, code, system|,
 * |code; :not, :missing), reference (Type/id, id, absolute URLs under the
 * FHIR base; :Type, :missing), string (case-insensitive prefix; :exact,
 * :contains, :missing), date (eq ne lt gt le ge sa eb ap, partial dates,
 * full dateTime; :missing), uri (exact), comma = OR, repetition = AND,
 * FHIR escaping (\, \| \$ \\); _count, _offset (paging), _sort (one date
 * key or _lastUpdated, "-" descending), _include and _revinclude on
 * reference parameters; _format (JSON only) and _pretty are accepted.
 * Anything else is refused naming the parameter, or ignored when the
 * client asked for Prefer: handling=lenient.
 *
 * Owns the registry it loads and every query it parses.  Never builds
 * SQL and never decides who may see what (lib/gateway* does).
 */
#ifndef SMARTAUTH_FHIRSEARCH_H
#define SMARTAUTH_FHIRSEARCH_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "form.h"

#define FS_COUNT_DEFAULT	50
#define FS_COUNT_MAX		500
#define FS_OFFSET_MAX		1000000
/* At most this many conditions and values in one search. */
#define FS_MAX_CONDITIONS	32
#define FS_MAX_VALUES		64
#define FS_MAX_INCLUDES		8

enum fs_type {
	FS_TOKEN = 1,
	FS_REFERENCE,
	FS_STRING,
	FS_DATE,
	FS_NUMBER,
	FS_QUANTITY,
	FS_URI
};

/* One row of smart.search_params. */
struct fs_def {
	char		*rtype;		/* "Observation", or "Resource" for every type */
	char		*name;
	enum fs_type	 type;
	cJSON		*paths;		/* owned array of jsonpath strings */
	char		*target;	/* reference target type, NULL when any */
};

struct fs_registry {
	struct fs_def	*v;
	size_t		 n;
};

struct fs_registry	*fs_registry_new(void);
void			 fs_registry_free(struct fs_registry *reg);
/*
 * Adds a definition (copies every string).  type is the table's word
 * ("token", ...); paths a JSON array of strings.  0, or -1 when a field
 * is malformed (logged) or on out of memory.
 */
int			 fs_registry_add(struct fs_registry *reg, const char *rtype,
			    const char *name, const char *type, const char *paths,
			    const char *target);
/*
 * Loads smart.search_params.  Owned registry, or NULL (database failure,
 * logged; db_unavailable() tells whether it is down).
 */
struct fs_registry	*fs_registry_load(void);
/* The definition of name for rtype (its own row first, then "Resource"). */
const struct fs_def	*fs_registry_find(const struct fs_registry *reg,
			    const char *rtype, const char *name);
/* 1 when some row names rtype itself (not "Resource"). */
int			 fs_registry_has_type(const struct fs_registry *reg, const char *rtype);
/* "token", "reference", ... */
const char		*fs_type_name(enum fs_type t);

struct fs_include {
	const struct fs_def *def;	/* the reference parameter (borrowed) */
	char		*source;	/* the type holding the reference */
	char		*target;	/* restricts included types, NULL = any */
	int		 rev;		/* 1: _revinclude */
};

struct fs_query {
	char		*type;
	cJSON		*filter;	/* owned filter (see above) */
	cJSON		*conds;		/* borrowed: the group of the request's own conditions */
	long		 count;
	long		 offset;
	const struct fs_def *sort;	/* borrowed date parameter; NULL: _lastUpdated */
	int		 sort_given;
	int		 sort_desc;
	struct fs_include inc[FS_MAX_INCLUDES];
	size_t		 ninc;
	struct form	 link;		/* the accepted parameters, for self/next links */
};

enum fs_result {
	FS_OK = 0,
	FS_BAD,		/* 400: why says which parameter and how */
	FS_ENOMEM
};

/*
 * Parses the search parameters of a type-level search.  lenient: ignore
 * unknown or unsupported parameters instead of refusing them.  fhir_base
 * (may be NULL) lets absolute references under it match.  On FS_OK q
 * holds the owned query (fs_query_clear); otherwise why says why.
 */
enum fs_result	 fs_query_parse(const struct fs_registry *reg, const char *type,
		    const struct form *params, int lenient, const char *fhir_base,
		    struct fs_query *q, char *why, size_t whysz);
void		 fs_query_clear(struct fs_query *q);

/*
 * Appends a clause to filter (an array) that holds when all conditions of
 * at least one group hold; groups is consumed.
 */
int		 fs_filter_add_clause(cJSON *filter, cJSON *groups);

/*
 * Builds the group of conditions of one v2 scope constraint (the
 * name=value pairs of "?a=b&c=d", already decoded) on type.  Owned
 * array, or NULL with why: a constraint the server cannot evaluate
 * grants nothing (callers must treat it as no grant).
 */
cJSON		*fs_constraint_group(const struct fs_registry *reg, const char *type,
		    const char *const *names, const char *const *values, size_t n,
		    char *why, size_t whysz);

/*
 * Parses one date search value (after any prefix) into its range in UTC:
 * lo and hi as "YYYY-MM-DDThh:mm:ssZ" (hi "infinity" past year 9999).
 * YYYY, YYYY-MM, YYYY-MM-DD, and dateTime with minutes or seconds
 * (fraction ignored) and Z or +hh:mm/-hh:mm (UTC when absent; a space
 * stands for '+', as a '+' left unencoded in a URL decodes to one).
 * 0, or -1 when malformed or out of range.
 */
int		 fs_date_range(const char *s, char *lo, size_t losz, char *hi, size_t hisz);

/*
 * Splits a search value at unescaped commas (FHIR R4 §3.1.1.5.7), keeping
 * the escapes in each part.  Fills out (owned strings) up to max;
 * returns the count, or -1 (too many parts, a dangling backslash, an
 * empty part, out of memory).
 */
int		 fs_split_values(const char *s, char **out, size_t max);
void		 fs_free_values(char **v, size_t n);
/*
 * Removes the escapes \, \| \$ \\ from s in place.  0, or -1 when a
 * backslash escapes anything else or ends the string.
 */
int		 fs_unescape(char *s);
/*
 * The first unescaped '|' of s, or NULL.
 */
char		*fs_find_bar(char *s);

/* 1 when s is a FHIR resource type name (^[A-Z][A-Za-z]{1,63}$), an id
 * (^[A-Za-z0-9.-]{1,64}$, but never "." or ".."). */
int		 fs_valid_type(const char *s);
int		 fs_valid_id(const char *s);

#endif
