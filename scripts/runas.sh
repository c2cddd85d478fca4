# runas.sh: sourced by the shell tools.  PostgreSQL refuses to run as root,
# so when we are root every server of a private run (PostgreSQL, Apache,
# lighttpd, spawn-fcgi) runs as the unprivileged system user "smartauth",
# created on first use.  When we are not root, everything runs as us.
SMARTAUTH_RUN_USER=${SMARTAUTH_RUN_USER:-smartauth}

runas_setup() {
	if [ "$(id -u)" -eq 0 ]; then
		if ! id -u "$SMARTAUTH_RUN_USER" >/dev/null 2>&1; then
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$SMARTAUTH_RUN_USER" || return 1
		fi
	else
		SMARTAUTH_RUN_USER=$(id -un)
	fi
}

# runas CMD...: runs CMD as the run user (directly when not root).
runas() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$SMARTAUTH_RUN_USER" -- "$@"
	else
		"$@"
	fi
}

# own PATH...: gives PATHs to the run user (no-op when not root).
own() {
	if [ "$(id -u)" -eq 0 ]; then
		chown -R "$SMARTAUTH_RUN_USER": "$@"
	fi
}
