/*
 * scope: SMART on FHIR scopes (App Launch 2.2 "Scopes and Launch Context",
 * both the v1 `read`, `write`, `*` and the v2 `cruds` grammars, v2 query
 * constraints, launch-context and identity scopes).
 *
 * A scope string (RFC 6749 §3.3) is parsed once into a struct scope_set.
 * The set answers the questions the rest of the server asks: may this
 * token do (context, type, permission)?  with which query constraints?
 * which requested scopes are covered by what a client was registered for?
 * how do I explain a scope to a patient on the consent page?
 *
 * Owns: every string of every scope it parsed.  Never does: decide on
 * the launch patient, look at resources, or talk to the database; the
 * gateway applies the constraints returned here to its FHIR searches.
 */
#ifndef SMARTAUTH_SCOPE_H
#define SMARTAUTH_SCOPE_H

#include <stddef.h>

/* Whole-string caps; a longer string is refused, not truncated. */
#define SCOPE_MAX_LEN		4096
#define SCOPE_MAX_TOKENS	100

enum scope_kind {
	SCOPE_RESOURCE = 1,	/* patient|user|system "/" type "." perms */
	SCOPE_LAUNCH,		/* launch (EHR launch) */
	SCOPE_LAUNCH_PATIENT,	/* launch/patient */
	SCOPE_LAUNCH_ENCOUNTER,	/* launch/encounter */
	SCOPE_LAUNCH_OTHER,	/* launch/<lowercase type>; type in ->type */
	SCOPE_OPENID,
	SCOPE_FHIRUSER,
	SCOPE_PROFILE,
	SCOPE_OFFLINE,		/* offline_access */
	SCOPE_ONLINE		/* online_access */
};

enum scope_context {
	SCOPE_CTX_NONE = 0,
	SCOPE_CTX_PATIENT,
	SCOPE_CTX_USER,
	SCOPE_CTX_SYSTEM
};

/* Permission bits, App Launch 2.2 §5.7 (v2 letters, in order). */
#define SCOPE_C		0x01u
#define SCOPE_R		0x02u
#define SCOPE_U		0x04u
#define SCOPE_D		0x08u
#define SCOPE_S		0x10u
#define SCOPE_CRUDS	0x1fu

/* One name=value pair of a v2 query constraint, value percent-decoded. */
struct scope_param {
	char	*name;
	char	*value;
};

struct scope {
	enum scope_kind		 kind;
	enum scope_context	 context;	/* SCOPE_RESOURCE only */
	char			*type;		/* "*", a FHIR type, or the launch/<type> */
	unsigned		 perm;		/* SCOPE_C..SCOPE_S bits */
	int			 v1;		/* written as .read/.write/.* */
	struct scope_param	*params;	/* v2 "?a=b&c=d", or launch "?role=" */
	size_t			 nparams;
	char			*text;		/* the token as written */
};

struct scope_set {
	struct scope	*v;		/* distinct recognised scopes, request order */
	size_t		 n;
	char		**unknown;	/* distinct unknown or malformed tokens */
	size_t		 nunknown;
};

/* Why a whole scope string was refused (not per-token problems). */
enum scope_error {
	SCOPE_E_OK = 0,
	SCOPE_E_TOO_LONG,	/* over SCOPE_MAX_LEN bytes */
	SCOPE_E_TOO_MANY,	/* over SCOPE_MAX_TOKENS tokens */
	SCOPE_E_BAD_CHAR,	/* NUL, tab, CR/LF, control, '"', '\\' or non-ASCII */
	SCOPE_E_NOMEM
};

struct scope_err {
	enum scope_error	code;
	char			why[128];
};

/*
 * Parses a space-separated scope string.  Runs of spaces and leading or
 * trailing spaces are tolerated; any other byte outside the RFC 6749
 * scope-token set refuses the whole string.  Exact duplicates are
 * dropped; tokens that are not SMART scopes land in ->unknown (not an
 * error).  Returns an owned set (free with scope_set_free), or NULL with
 * err filled (err may be NULL) and the cause logged.
 */
struct scope_set	*scope_parse(const char *s, struct scope_err *err);
/* Same, for a buffer of known length which may contain NUL (refused). */
struct scope_set	*scope_parse_n(const char *s, size_t len, struct scope_err *err);
void			 scope_set_free(struct scope_set *set);
/* An empty owned set, or NULL on out of memory. */
struct scope_set	*scope_set_new(void);

/*
 * Canonical string: recognised scopes in order, as written, separated by
 * one space (v1 scopes stay v1).  Unknown tokens are not included.
 * Returns an owned string ("" for an empty set), NULL on out of memory.
 */
char			*scope_set_format(const struct scope_set *set);

/*
 * 1 when the union of the resource scopes of set grants every bit of perm
 * on type (a "*" scope grants every type) in context ("patient", "user",
 * "system", or NULL for any); else 0.  Constrained scopes count: use
 * scope_set_access to learn whether the grant is filtered.
 */
int			 scope_set_allows(const struct scope_set *set,
			    const char *context, const char *type, unsigned perm);

enum scope_access {
	SCOPE_ACCESS_NONE = 0,	/* no scope grants it */
	SCOPE_ACCESS_ALL,	/* some granting scope has no constraint */
	SCOPE_ACCESS_FILTERED	/* only constrained scopes grant it */
};

/*
 * For one interaction (usually a single permission bit): which scopes
 * grant all of perm on type in context.  Union semantics: one granting
 * scope without constraints makes the access unconstrained; otherwise a
 * resource is allowed when it matches the constraints of ANY granting
 * scope (walk them with scope_set_next_match).
 */
enum scope_access	 scope_set_access(const struct scope_set *set,
			    const char *context, const char *type, unsigned perm);
/*
 * Iterator over the scopes granting all of perm on type in context.
 * Start with *pos = 0; returns a borrowed scope, or NULL when done.
 */
const struct scope	*scope_set_next_match(const struct scope_set *set,
			    size_t *pos, const char *context, const char *type,
			    unsigned perm);

/*
 * The requested scopes each fully covered by the allowed ones: same
 * kind; for resource scopes the same context, and every permission bit
 * granted by an allowed scope of that type (or "*") whose constraints are
 * all among the requested scope's (an unconstrained one covers any).
 * Returns an owned set (possibly empty), NULL on out of memory.
 */
struct scope_set	*scope_set_intersect(const struct scope_set *requested,
			    const struct scope_set *allowed);

/* 1 when set holds a scope of that kind, else 0. */
int			 scope_set_has(const struct scope_set *set, enum scope_kind kind);

/*
 * Plain-words description for consent pages ("Read and search your
 * observation records (lab results, vital signs and other measurements)").
 * Writes into buf (always NUL-terminated, truncated if short) and returns
 * buf.  The text is not HTML-escaped.
 */
const char		*scope_describe(const struct scope *sc, char *buf, size_t bufsz);

/* "patient"/"user"/"system" <-> enum; SCOPE_CTX_NONE / NULL when unknown. */
enum scope_context	 scope_context_parse(const char *s);
const char		*scope_context_name(enum scope_context ctx);

#endif
