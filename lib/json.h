/*
 * json: strict parsing of untrusted JSON, and small typed accessors.
 *
 * cJSON on its own is lenient: it skips a UTF-8 BOM and any byte below
 * 0x21 as whitespace, accepts "01", raw control characters and "\u0000"
 * inside strings, keeps every duplicate member (and a lookup returns the
 * first one), and recurses up to 1000 levels.  Where a signature or a
 * policy depends on what a document says, two readers must never see two
 * different documents, so json_parse_strict() adds an RFC 8259 pre-scan
 * (grammar of numbers, strings, UTF-8, depth) and a post-parse walk
 * (duplicate member names, numbers that do not fit a double) around
 * cJSON_ParseWithLengthOpts().
 *
 * Lookups are always case-sensitive (cJSON_GetObjectItem is not).
 *
 * This module owns no state.  It never logs document content, only the
 * reason a document was refused.
 */
#ifndef SMARTAUTH_JSON_H
#define SMARTAUTH_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Deepest nesting of arrays and objects json_parse_strict() accepts. */
#define JSON_MAX_DEPTH	64

/*
 * Parses exactly len bytes of buf, which must hold one JSON value
 * (RFC 8259 §2) optionally surrounded by JSON whitespace.  Refuses NUL
 * bytes (raw or escaped as \u0000), control characters and invalid UTF-8
 * in strings, malformed numbers, numbers that overflow a double, nesting
 * deeper than JSON_MAX_DEPTH and duplicate member names in any object.
 * Returns an owned tree (cJSON_Delete) or NULL; on failure *why, when why
 * is not NULL, points to a static string naming the reason.
 */
cJSON		*json_parse_strict(const char *buf, size_t len, const char **why);

/* Borrowed string value of member key, NULL when obj is not an object,
 * the member is absent or it is not a string. */
const char	*json_get_str(const cJSON *obj, const char *key);

/*
 * Stores member key in *out when it is a number with an integral value
 * whose magnitude is at most 2^53 (so the JSON text was exact).  Returns
 * 0, or -1 when absent, not a number or not such an integer.
 */
int		 json_get_int(const cJSON *obj, const char *key, long long *out);

/* Stores a boolean member in *out (0/1); -1 when absent or not a boolean. */
int		 json_get_bool(const cJSON *obj, const char *key, int *out);

/* Borrowed object/array member, NULL when absent or of another type. */
const cJSON	*json_get_obj(const cJSON *obj, const char *key);
const cJSON	*json_get_arr(const cJSON *obj, const char *key);

/* Compact serialisation; owned, release with free().  NULL on failure. */
char		*json_print(const cJSON *v);

#endif
