/*
 * fhir: the FHIR resource gateway (DESIGN §1: everything under the FHIR
 * base that is not discovery; §4: who may do what).
 *
 *   GET  {fhir}/metadata                         CapabilityStatement (public)
 *   GET  {fhir}/Type/id[/_history[/vid]]         read, instance history, vread
 *   GET  {fhir}/Type?params, POST .../_search    search
 *   POST {fhir}/Type, PUT {fhir}/Type/id         create, update
 *   DELETE {fhir}/Type/id                        delete
 *   POST {fhir}                                  batch / transaction bundle
 *
 * Each request needs one of this server's bearer access tokens, SMART
 * scopes that allow the interaction and an AccessPolicy that allows the
 * request; the work is in lib/gateway*.c.  Configuration, the public
 * signing keys, the search parameters and the CapabilityStatement are
 * loaded before the first request.  This program holds no private key.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "gateway.h"
#include "log.h"
#include "serve.h"

static struct config cfg;
static struct gateway *gw;

static int
start(void)
{
	char err[512];

	if (config_load(&cfg, NULL, NULL, err, sizeof(err)) == -1) {
		log_err("configuration: %s", err);
		return -1;
	}
	if (db_init(cfg.database, "smartauth-fhir", cfg.db_connect_timeout) == -1)
		return -1;
	if ((gw = gateway_new(&cfg)) == NULL)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	int rc;

	log_init("fhir");
	if ((rc = serve_cli(argc, argv, "fhir",
	    "Serves the FHIR API: bearer-token check, SMART scopes, AccessPolicies and\n"
	    "the built-in FHIR store.", start)) >= 0)
		return rc;
	if (start() == -1)
		return 1;
	serve_shed_setup(cfg.max_queue_wait_ms, SERVE_SHAPE_FHIR);
	rc = serve_run(gateway_handle, gw);
	gateway_free(gw);
	db_close();
	config_free(&cfg);
	return rc;
}
