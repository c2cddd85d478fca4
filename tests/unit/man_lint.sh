#!/bin/sh
# man_lint.sh: checks the manual pages (TAP, run by make check).
#
#   - every page in man/ passes `mandoc -T lint -W warning` (one test point
#     per page); mandoc is a test dependency (scripts/deps.sh), so a missing
#     mandoc is a failure, not a skip;
#   - every page has the sections its manual section calls for;
#   - every page in man/ is installed (listed in mk/man.am);
#   - every program in cgi-bin/ has its page, and the page describes every
#     option the program's --help names;
#   - smartauth.conf(5) describes every key the programs accept (from
#     `discovery --help`, which prints the configuration key table).
#
# Run from the build directory (programs are looked up there) with
# top_srcdir set (make check sets it; default: the script's ../..).

srcdir=${top_srcdir:-$(dirname "$0")/../..}
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

# check DESCRIPTION COMMAND...: one test point from a command's status.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

pages=$(ls "$srcdir"/man/*.[1-9] 2>/dev/null)
if [ -z "$pages" ]; then
	echo "1..1"
	echo "not ok 1 - no manual pages found under $srcdir/man"
	exit 1
fi

# --- mandoc lint, one point per page ---------------------------------------
if command -v mandoc >/dev/null 2>&1; then
	for p in $pages; do
		out=$(mandoc -T lint -W warning "$p" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$out" ]; then
			ok "mandoc -T lint -W warning $(basename "$p")"
		else
			not_ok "mandoc -T lint -W warning $(basename "$p")"
			printf '%s\n' "$out" | sed 's/^/# /'
		fi
	done
else
	not_ok "mandoc is installed (scripts/deps.sh lists it; man pages cannot be linted)"
fi

# --- sections ---------------------------------------------------------------
has_sections() {
	page=$1
	shift
	missing=""
	for s in "$@"; do
		grep -qx "\.Sh $s" "$page" || missing="$missing '$s'"
	done
	[ -z "$missing" ] || echo "# $(basename "$page") lacks:$missing"
	[ -z "$missing" ]
}

for p in $pages; do
	case $p in
	*.8)
		check "$(basename "$p") has every section of a program page" \
		    has_sections "$p" NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT FILES \
		    "EXIT STATUS" EXAMPLES "SEE ALSO" STANDARDS ;;
	*)
		check "$(basename "$p") has every section of a reference page" \
		    has_sections "$p" NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES \
		    EXAMPLES "SEE ALSO" STANDARDS ;;
	esac
done

# --- installation -----------------------------------------------------------
listed() {
	grep -q "man/$(basename "$1")" "$srcdir/mk/man.am" ||
	    { echo "# $(basename "$1") is not in mk/man.am"; return 1; }
}
for p in $pages; do
	check "$(basename "$p") is installed by make install (mk/man.am)" listed "$p"
done

# --- programs: a page each, every --help option described -------------------
options_described() {
	prog=$1
	page=$2
	bin=cgi-bin/$prog
	[ -x "$bin" ] || bin=$srcdir/cgi-bin/$prog
	if [ ! -x "$bin" ]; then
		echo "# $prog is not built"
		return 1
	fi
	usage=$("$bin" --help 2>/dev/null | sed -n '1p')
	opts=$(printf '%s\n' "$usage" | grep -o -- '--[a-z][a-z-]*')
	[ -n "$opts" ] || { echo "# $prog --help names no options"; return 1; }
	missing=""
	for o in $opts; do
		grep -q "^\.It Fl -${o#--}\$" "$page" || missing="$missing $o"
	done
	[ -z "$missing" ] || echo "# $(basename "$page") does not describe:$missing"
	[ -z "$missing" ]
}

for src in "$srcdir"/cgi-bin/*.c; do
	prog=$(basename "$src" .c)
	page=$srcdir/man/smartauth-$prog.8
	if [ -f "$page" ]; then
		ok "$prog has a manual page (smartauth-$prog.8)"
		check "smartauth-$prog.8 describes every option of $prog --help" \
		    options_described "$prog" "$page"
	else
		not_ok "$prog has a manual page (smartauth-$prog.8)"
	fi
done

# --- configuration keys -----------------------------------------------------
keys_described() {
	page=$srcdir/man/smartauth.conf.5
	bin=cgi-bin/discovery
	[ -x "$bin" ] || bin=$srcdir/cgi-bin/discovery
	[ -x "$bin" ] || { echo "# discovery is not built"; return 1; }
	keys=$("$bin" --help 2>/dev/null | sed -n 's/^  \([a-z_][a-z_]*\)  .*/\1/p')
	[ -n "$keys" ] || { echo "# discovery --help lists no keys"; return 1; }
	missing=""
	for k in $keys; do
		grep -q "^\.It Cm $k\( \|\$\)" "$page" || missing="$missing $k"
	done
	[ -z "$missing" ] || echo "# smartauth.conf.5 does not describe:$missing"
	[ -z "$missing" ]
}
check "smartauth.conf.5 describes every configuration key" keys_described

echo "1..$n"
[ $failed -eq 0 ]
