#!/bin/sh
# scripts/pg.sh - a private PostgreSQL cluster for tests and demos, in a directory of its own
#
#   scripts/pg.sh start DIR   create the cluster on first use (initdb), start it, print its URL
#   scripts/pg.sh stop DIR    stop it (fast shutdown); the data stays for the next start
#   scripts/pg.sh url DIR     print the connection URL
#   scripts/pg.sh destroy DIR stop it and delete DIR
#
# DIR holds data/ (PGDATA), the Unix socket, log, port and url. The server listens on the
# socket and on 127.0.0.1 only, at a free port chosen at first start and kept after it, with
# trust authentication: for throwaway clusters on a developer's machine or CI, never for
# real data. The database "vigil" is created; the URL is written to DIR/url.
#
# initdb refuses to run as root: as root the cluster belongs to the "postgres" user (from
# Debian's postgresql package) and DIR must be reachable by it; as anyone else it belongs to
# the current user. PostgreSQL's binaries come from $PG_BINDIR, else pg_config --bindir,
# else /usr/lib/postgresql/<newest>/bin.
set -eu

usage() {
	echo "usage: scripts/pg.sh start|stop|url|destroy DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$d/initdb" ]; then
			bindir=$d
			break
		fi
	done
fi
if [ -z "$bindir" ] && command -v pg_config >/dev/null 2>&1; then
	bindir=$(pg_config --bindir)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "pg.sh: PostgreSQL server binaries not found (install postgresql-15 or set PG_BINDIR)" >&2
	exit 1
fi

# run a PostgreSQL binary as the cluster's owner
if [ "$(id -u)" -eq 0 ]; then
	owner=postgres
	if ! id "$owner" >/dev/null 2>&1; then
		echo "pg.sh: running as root needs the \"postgres\" user (install postgresql-15)" >&2
		exit 1
	fi
	as_owner() {
		runuser -u "$owner" -- "$@"
	}
else
	owner=$(id -un)
	as_owner() {
		"$@"
	}
fi

pgdata=$dir/data
log=$dir/log

write_url() {
	port=$(cat "$dir/port")
	printf 'postgresql://%s@127.0.0.1:%s/vigil\n' "$owner" "$port" >"$dir/url"
}

running() {
	[ -f "$pgdata/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$pgdata" status >/dev/null 2>&1
}

start() {
	if [ ! -f "$pgdata/PG_VERSION" ]; then
		if [ "$(id -u)" -eq 0 ]; then
			chown "$owner" "$dir"
			if ! runuser -u "$owner" -- test -w "$dir"; then
				echo "pg.sh: $dir is not reachable by user $owner (check the parents' permissions)" >&2
				exit 1
			fi
		fi
		rm -rf "$pgdata"
		as_owner "$bindir/initdb" -D "$pgdata" -A trust -U "$owner" -E UTF8 --locale=C.UTF-8 \
			--no-instructions >"$dir/initdb.log" 2>&1 || {
			echo "pg.sh: initdb failed:" >&2
			cat "$dir/initdb.log" >&2
			exit 1
		}
	fi
	if running; then
		write_url
		cat "$dir/url"
		return 0
	fi
	# a port chosen once and kept: a restart (tests stop and start the server) keeps the URL
	tries=0
	while :; do
		if [ ! -s "$dir/port" ]; then
			# a random port in 20000..59999; a taken one fails to bind and is redrawn
			rnd=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
			echo $((rnd % 40000 + 20000)) >"$dir/port"
		fi
		port=$(cat "$dir/port")
		touch "$log"
		if [ "$(id -u)" -eq 0 ]; then chown "$owner" "$log"; fi
		if as_owner "$bindir/pg_ctl" -D "$pgdata" -l "$log" -w -t 30 -o \
			"-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
			start >/dev/null 2>&1; then
			break
		fi
		tries=$((tries + 1))
		if grep -q "could not bind\|Address already in use" "$log" 2>/dev/null && [ $tries -lt 10 ]; then
			rm -f "$dir/port"
			continue
		fi
		echo "pg.sh: could not start PostgreSQL; its log says:" >&2
		tail -n 20 "$log" >&2
		exit 1
	done
	if ! as_owner "$bindir/psql" -h "$dir" -p "$port" -U "$owner" -d postgres -Atqc \
		"SELECT 1 FROM pg_database WHERE datname = 'vigil'" | grep -q 1; then
		as_owner "$bindir/createdb" -h "$dir" -p "$port" -U "$owner" vigil
	fi
	write_url
	cat "$dir/url"
}

stop() {
	if [ -f "$pgdata/PG_VERSION" ] && running; then
		as_owner "$bindir/pg_ctl" -D "$pgdata" -m fast -w -t 30 stop >/dev/null
	fi
}

case $cmd in
start) start ;;
stop) stop ;;
url)
	[ -f "$dir/port" ] || { echo "pg.sh: no cluster in $dir" >&2; exit 1; }
	write_url
	cat "$dir/url"
	;;
destroy)
	# only ever delete what looks like one of our clusters
	if [ ! -f "$pgdata/PG_VERSION" ] && [ -n "$(ls -A "$dir")" ]; then
		echo "pg.sh: $dir does not hold a cluster made by pg.sh; not deleting it" >&2
		exit 1
	fi
	stop
	rm -rf "$dir"
	;;
*) usage ;;
esac
