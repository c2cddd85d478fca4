/*
 * fhirpath fuzz harness: lib/gateway_path, the routing of FHIR RESTful
 * URLs to an interaction (gw_route_parse, gw_route_parse_rel,
 * gw_known_type), for request paths and for the relative URLs of bundle
 * entries.
 *
 * The input is a request path as the web server passes it (REQUEST_URI
 * without its query), routed under the mount "/fhir"; the part after the
 * mount is also routed as a bundle entry's relative URL.  Invariants
 * (abort() when broken):
 *   - a refused path says why, with 400, 404 or 500, and leaves the route
 *     zeroed;
 *   - an accepted route names a known R4 type (so never Client, User,
 *     Role or AccessPolicy), an id of [A-Za-z0-9.-]{1,64} that is not "."
 *     or "..", and a version id >= 1 for a vread;
 *   - the raw path of an accepted route holds no encoded slash;
 *   - routing is canonical: the route written back as a path routes to
 *     the same route;
 *   - "/X..." after the mount and the relative URL "X..." route alike.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fhirsearch.h"
#include "gateway_path.h"
#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MOUNT	"/fhir"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	if ((devnull = fopen("/dev/null", "w")) != NULL)
		log_set_stream(devnull);
	log_set_level(LOGL_DEBUG);
	return 0;
}

static void
fuzz_check(int status, const struct gw_route *rt, const char *why)
{
	static const struct gw_route zero;

	if (status != 0) {
		if ((status != 400 && status != 404 && status != 500) || why == NULL ||
		    why[0] == '\0' || memcmp(rt, &zero, sizeof(zero)) != 0)
			abort();
		return;
	}
	if (rt->kind < GW_R_BASE || rt->kind > GW_R_VREAD)
		abort();
	if (rt->kind >= GW_R_TYPE &&
	    (!fs_valid_type(rt->type) || !gw_known_type(rt->type) ||
	    strcmp(rt->type, "Client") == 0 || strcmp(rt->type, "User") == 0 ||
	    strcmp(rt->type, "Role") == 0 || strcmp(rt->type, "AccessPolicy") == 0)) {
		fprintf(stderr, "fhirpath: accepted type \"%s\"\n", rt->type);
		abort();
	}
	if (rt->kind >= GW_R_INSTANCE &&
	    (!fs_valid_id(rt->id) || strcmp(rt->id, ".") == 0 || strcmp(rt->id, "..") == 0)) {
		fprintf(stderr, "fhirpath: accepted id \"%s\"\n", rt->id);
		abort();
	}
	if ((rt->kind == GW_R_VREAD) != (rt->vid >= 1))
		abort();
}

/* The path of a route, written back. */
static void
fuzz_write(const struct gw_route *rt, char *out, size_t outsz)
{
	switch (rt->kind) {
	case GW_R_BASE:
		snprintf(out, outsz, "%s", FUZZ_MOUNT);
		break;
	case GW_R_METADATA:
		snprintf(out, outsz, "%s/metadata", FUZZ_MOUNT);
		break;
	case GW_R_TYPE:
		snprintf(out, outsz, "%s/%s", FUZZ_MOUNT, rt->type);
		break;
	case GW_R_TYPE_SEARCH:
		snprintf(out, outsz, "%s/%s/_search", FUZZ_MOUNT, rt->type);
		break;
	case GW_R_TYPE_HISTORY:
		snprintf(out, outsz, "%s/%s/_history", FUZZ_MOUNT, rt->type);
		break;
	case GW_R_INSTANCE:
		snprintf(out, outsz, "%s/%s/%s", FUZZ_MOUNT, rt->type, rt->id);
		break;
	case GW_R_HISTORY:
		snprintf(out, outsz, "%s/%s/%s/_history", FUZZ_MOUNT, rt->type, rt->id);
		break;
	case GW_R_VREAD:
		snprintf(out, outsz, "%s/%s/%s/_history/%lld", FUZZ_MOUNT, rt->type, rt->id,
		    rt->vid);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_route rt, again, rel;
	const char *why = NULL, *why2 = NULL, *p;
	char *path, back[256];
	int st, st2;

	if (memchr(data, '\0', size) != NULL)
		return 0;	/* a CGI variable cannot hold NUL */
	if ((path = strndup((const char *)data, size)) == NULL)
		return 0;
	st = gw_route_parse(path, FUZZ_MOUNT, &rt, &why);
	fuzz_check(st, &rt, why);
	if (st == 0) {
		for (p = path; (p = strchr(p, '%')) != NULL; p++)
			if (strncasecmp(p, "%2f", 3) == 0) {
				fprintf(stderr, "fhirpath: an encoded slash was accepted\n");
				abort();
			}
		fuzz_write(&rt, back, sizeof(back));
		why2 = NULL;
		st2 = gw_route_parse(back, FUZZ_MOUNT, &again, &why2);
		if (st2 != 0 || memcmp(&rt, &again, sizeof(rt)) != 0) {
			fprintf(stderr, "fhirpath: \"%s\" does not route back\n", back);
			abort();
		}
	}
	/* "/X..." under the mount and the relative URL "X..." agree. */
	if (strncmp(path, FUZZ_MOUNT "/", sizeof(FUZZ_MOUNT)) == 0 &&
	    path[sizeof(FUZZ_MOUNT)] != '\0') {
		why2 = NULL;
		st2 = gw_route_parse_rel(path + sizeof(FUZZ_MOUNT), 1, &rel, &why2);
		fuzz_check(st2, &rel, why2);
		if (st2 != st || memcmp(&rt, &rel, sizeof(rt)) != 0) {
			fprintf(stderr, "fhirpath: relative and absolute routing differ\n");
			abort();
		}
	}
	free(path);
	return 0;
}
