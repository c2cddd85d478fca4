/*
 * log_test: the line format and escaping (a hostile value can never start
 * a second log line), levels, and OpenSSL error reporting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "t.h"

static char *
capture(void (*fn)(void))
{
	static char out[4096];
	FILE *fp = tmpfile();
	size_t n;

	log_set_stream(fp);
	fn();
	log_set_stream(NULL);
	rewind(fp);
	n = fread(out, 1, sizeof(out) - 1, fp);
	out[n] = '\0';
	fclose(fp);
	return out;
}

static void emit_plain(void) { log_info("client %s granted", "app-1"); }
static void emit_crlf(void) { log_warn("user %s", "eve\r\nsmartauth[1] INFO forged: line"); }
static void emit_debug(void) { log_debug("hidden"); }
static void emit_nonascii(void) { log_err("name %s", "caf\xc3\xa9\x1b[31m"); }
static void
emit_ossl(void)
{
	/* Provoke an OpenSSL error: unknown digest name. */
	EVP_MD *md = EVP_MD_fetch(NULL, "NO-SUCH-DIGEST", NULL);

	EVP_MD_free(md);
	log_openssl("EVP_MD_fetch");
}

int
main(void)
{
	char *s;

	log_init("logtest");
	s = capture(emit_plain);
	T_OK(strstr(s, "logtest[") == s, "line starts with program[pid]");
	T_OK(strstr(s, "] INFO emit_plain: client app-1 granted\n") != NULL, "level, function and message");
	s = capture(emit_crlf);
	T_OK(strchr(s, '\n') == s + strlen(s) - 1, "CR LF in a value cannot start a new line");
	T_OK(strstr(s, "eve\\x0d\\x0asmartauth") != NULL, "CR LF escaped as \\x0d\\x0a");
	s = capture(emit_nonascii);
	T_OK(strstr(s, "caf\\xc3\\xa9\\x1b[31m") != NULL, "non-ASCII and ESC escaped");
	s = capture(emit_debug);
	T_EQ_STR(s, "", "debug dropped at the default level");
	log_set_level(LOGL_DEBUG);
	s = capture(emit_debug);
	T_OK(strstr(s, "DEBUG emit_debug: hidden") != NULL, "debug shown at debug level");
	log_set_level(LOGL_INFO);
	s = capture(emit_ossl);
	T_OK(strstr(s, "ERROR emit_ossl: EVP_MD_fetch failed: ") != NULL, "OpenSSL failure names the call");
	T_EQ_INT(log_level_parse("WARN"), LOGL_WARN, "level names case-insensitive");
	T_EQ_INT(log_level_parse("verbose"), -1, "unknown level refused");
	return t_done();
}
