/*
 * trivial: the ceiling reference of bench/run.  A FastCGI responder that
 * answers every request with a two-byte JSON document and does nothing
 * else, so that a run against it measures Apache, the FastCGI module
 * (mod_fcgid or mod_proxy_fcgi) and the FastCGI protocol alone.  bench/run
 * puts it in place of all five smartauth programs under the same web
 * server configuration.
 */
#include <fcgiapp.h>

int
main(void)
{
	static const char resp[] = "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 2\r\n\r\n{}";
	FCGX_Request r;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(resp, sizeof(resp) - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
