/*
 * options: the run-time options of AddressSanitizer and
 * UndefinedBehaviorSanitizer, compiled into every program of the
 * sanitizer build (tests/sanitize/run-layer links this file in).
 *
 * The FastCGI programs are started by Apache (mod_fcgid), spawn-fcgi or
 * lighttpd, which hand them an environment of their own choosing, so
 * ASAN_OPTIONS cannot be relied on to reach them: the defaults below do.
 * Every report is written to SANITIZE_LOG_DIR/report.<pid> (the run-layer
 * counts each file as a failure), and the first finding stops the
 * program.  log_path is one of the flags the three sanitizers share, so
 * each default names the same file.  An ASAN_OPTIONS or UBSAN_OPTIONS in the
 * environment still overrides any of them (the unit tests send their
 * reports to stderr that way).
 *
 * Test-only: never part of lib/ or of an installed program.
 */
#ifndef SANITIZE_LOG_DIR
#error "SANITIZE_LOG_DIR must name the report directory"
#endif

const char	*__asan_default_options(void);
const char	*__ubsan_default_options(void);
const char	*__lsan_default_options(void);

const char *
__asan_default_options(void)
{
	return "log_path=" SANITIZE_LOG_DIR "/report:halt_on_error=1:abort_on_error=0"
	    ":detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1"
	    ":strict_init_order=1";
}

const char *
__ubsan_default_options(void)
{
	return "log_path=" SANITIZE_LOG_DIR "/report:print_stacktrace=1:halt_on_error=1";
}

const char *
__lsan_default_options(void)
{
	return "log_path=" SANITIZE_LOG_DIR "/report";
}
