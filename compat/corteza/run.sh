#!/usr/bin/env bash
# Runs the Corteza compatibility test: builds usher, serves it on a
# port the kernel picks, with a fresh SQLite database and a directory of
# automation scripts, makes an administrator with a password with the CLI,
# and drives /api/system with Corteza's own JavaScript client,
# @cortezaproject/corteza-js 2020.9.3 (node --test). Exits non-zero if
# anything fails.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
server=""

cleanup() {
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
		kill -TERM "$server"
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# USHER_BIN names a binary built already (.ci/run builds one for both
# compat runs); otherwise build one.
if [ -n "${USHER_BIN:-}" ]; then
	cp "$USHER_BIN" "$tmp/usher"
else
	echo "building usher"
	(cd "$root" && go build -o "$tmp/usher" ./cmd/usher)
fi

db="$tmp/usher.db"
usher() { "$tmp/usher" --database "$db" --log-level warn "$@"; }

# usher listens on a port the kernel picks; without --public-url its links
# are written on the address it listens on, which its log names.
mkdir "$tmp/scripts"
cat >"$tmp/scripts/greet.js" <<'JS'
// usher:trigger user.manual role.manual application.manual system.manual
usher.log("greeted " + (usher.ref || "the system"));
JS
cat >"$tmp/scripts/panel.js" <<'JS'
// usher:kind client
// usher:bundle admin
window.usherPanel = "panel";
JS
"$tmp/usher" serve --database "$db" --addr 127.0.0.1:0 --scripts "$tmp/scripts" 2>"$tmp/server.log" &
server=$!
addr=""
for _ in $(seq 100); do
	addr="$(sed -n 's/.*"msg":"listening","addr":"\([^"]*\)".*/\1/p' "$tmp/server.log" | head -n 1)"
	[ -n "$addr" ] && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "usher did not start:" >&2
	cat "$tmp/server.log" >&2
	exit 1
fi
echo "usher serves http://$addr"

password="compat admin's long passphrase"
usher user create --username admin --email admin@example.com --name "Compat Admin" --admin --password "$password" >/dev/null

if [ ! -d "$here/node_modules" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --prefer-offline)
fi

status=0
(cd "$here" && CORTEZA_URL="http://$addr/api/system" CORTEZA_EMAIL=admin@example.com CORTEZA_PASSWORD="$password" node --test) || status=$?
if [ "$status" -ne 0 ]; then
	echo "server log:" >&2
	tail -n 50 "$tmp/server.log" >&2
fi
exit "$status"
