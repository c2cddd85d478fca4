/*
 * authacct: logout and the list of remembered consents (see authacct.c).
 */
#ifndef SMARTAUTH_AUTHACCT_H
#define SMARTAUTH_AUTHACCT_H

#include "authflow.h"
#include "http.h"

/* GET/POST .../logout: confirm form, then end the session. */
int	authacct_logout(struct req *r, struct resp *p, const struct authflow_cfg *ac);

/* GET/POST .../consents: a signed-in user's remembered consents, revocable. */
int	authacct_consents(struct req *r, struct resp *p, const struct authflow_cfg *ac);

#endif
