/*
 * matcho: the pattern language of matcho AccessPolicies, compatible with
 * Aidbox (see reference/matcho.md, "Pattern language").
 *
 * A pattern is a cJSON value matched against a subject (usually the
 * request object built by policy_request_new): scalars by equality,
 * objects key by key, arrays element by element, "#regex" strings,
 * ".path" references into the request, the keywords present?, nil?,
 * not-blank?, and the special keys $enum, $one-of, $contains, $every,
 * $not, $reference and $present-all (+ $length).
 *
 * Owns: a small per-thread cache of compiled regular expressions.
 * Never: modifies the pattern or the subject, logs (errors are returned
 * in struct matcho_err for the caller to log with its policy id), or
 * turns an error into a match ($not of an error is an error).
 */
#ifndef SMARTAUTH_MATCHO_H
#define SMARTAUTH_MATCHO_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Patterns nested deeper than this are refused. */
#define MATCHO_MAX_DEPTH	64
/* Longest "#regex" accepted, in bytes after the '#'. */
#define MATCHO_REGEX_MAX	1024
/* Longest ".path" accepted, in bytes. */
#define MATCHO_PATH_MAX		256

struct matcho_err {
	char	why[256];
};

/*
 * Matches pattern against subject (NULL = absent); ".path" strings are
 * resolved in request_root (may be NULL: paths then never match).
 * Returns 1 on match, 0 on no match, -1 when the pattern is malformed or
 * a regex hit its match limit (err, which may be NULL, says why).
 */
int	matcho_match(const cJSON *pattern, const cJSON *subject,
	    const cJSON *request_root, struct matcho_err *err);

/*
 * Checks that pattern is well-formed: regexes compile, paths are
 * well-formed, special keys have values of the right shape and are not
 * mixed with other keys, no duplicate keys, depth bounded.  Returns 0, or
 * -1 with the reason in why (may be NULL).
 */
int	matcho_validate(const cJSON *pattern, char *why, size_t whysz);

/*
 * Looks up a dotted path (".a.b.0") in root; numeric segments index
 * arrays.  Returns a borrowed value, or NULL when absent or malformed.
 */
const cJSON	*matcho_path_get(const cJSON *root, const char *path);

/* Frees this thread's compiled-regex cache (exit, tests). */
void	matcho_cache_clear(void);

#endif
