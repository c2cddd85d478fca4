# deps.sh: sourced by ./demo and ./check.  Installs the Debian packages a
# build, a demo or a test run needs, when running as root and any is
# missing.  Services are not started by the package scripts (policy-rc.d):
# smartauth starts its own private servers.

SMARTAUTH_BUILD_DEPS="autoconf automake libtool pkg-config make gcc libc6-dev
 libfcgi-dev libcjson-dev libssl-dev libpq-dev libpcre2-dev libcrypt-dev openssl
 libcurl4-openssl-dev"
SMARTAUTH_RUN_DEPS="postgresql postgresql-contrib apache2 libapache2-mod-fcgid lighttpd
 spawn-fcgi curl"
SMARTAUTH_TEST_DEPS="python3 python3-pytest python3-requests python3-psycopg2
 python3-cryptography python3-jwt apache2-utils mandoc valgrind wrk
 chromium libapache2-mod-auth-openidc"

deps_missing() {
	local p missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
			|| missing="$missing $p"
	done
	echo "$missing"
}

# deps_install PACKAGE...: installs what is missing (root), or names it.
deps_install() {
	local missing rc
	missing=$(deps_missing "$@")
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages:$missing (run as root to install them)" >&2
		return 1
	fi
	echo "installing:$missing"
	# Keep package scripts from starting system services on ports 80/5432.
	local prc=/usr/sbin/policy-rc.d had_prc=0
	[ -e "$prc" ] && had_prc=1
	if [ $had_prc -eq 0 ]; then printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod 755 "$prc"; fi
	apt-get update -q >/dev/null 2>&1 || apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/tmp/smartauth-apt.log 2>&1
	rc=$?
	[ $had_prc -eq 0 ] && rm -f "$prc"
	if [ $rc -ne 0 ]; then
		tail -n 20 /tmp/smartauth-apt.log >&2
		echo "package installation failed" >&2
		return 1
	fi
}
