/*
 * supported: what this build really implements.
 *
 * The discovery documents (.well-known/smart-configuration,
 * openid-configuration) and the CapabilityStatement are generated from
 * these lists, so a capability, grant type or method is advertised only
 * once the code behind it has landed and is tested (each issue that adds
 * one adds it here, with its tests).  Lists are NULL-terminated.
 */
#ifndef SMARTAUTH_SUPPORTED_H
#define SMARTAUTH_SUPPORTED_H

extern const char *const supported_capabilities[];		/* SMART 2.2 §capabilities */
extern const char *const supported_grant_types[];
extern const char *const supported_response_types[];
extern const char *const supported_token_auth_methods[];
extern const char *const supported_token_auth_signing_algs[];
extern const char *const supported_introspection_auth_methods[];	/* RFC 8414 §2 */
extern const char *const supported_revocation_auth_methods[];
extern const char *const supported_scopes[];
extern const char *const supported_code_challenge_methods[];
extern const char *const supported_id_token_algs[];
extern const char *const supported_claims[];

/* Endpoints that exist beyond authorize/token. */
extern const int supported_introspection;
extern const int supported_revocation;
/* RFC 9207 iss in authorization responses. */
extern const int supported_authorization_response_iss;

/* 1 when list holds s. */
int	supported_has(const char *const *list, const char *s);

#endif
