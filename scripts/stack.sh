#!/usr/bin/env bash
# The local stack without Docker: a PostgreSQL 15 cluster of the project's own in .pg/data,
# listening on 127.0.0.1:54322 (the port supabase/config.toml gives the database), with the
# Supabase roles, pg_cron, pgTAP and plpgsql_check, migrated with the pinned Supabase CLI.
#
# Usage: bash scripts/stack.sh install [extra-apt-package …] | start | stop | reset | status | migrate | url [--role authenticator]
#   install  apt-get install PostgreSQL 15 and its extensions (plus any extra packages named) when missing
#   start    initdb on first use, start, wait until ready, create roles and extensions, migrate
#   stop     stop the cluster (no-op when it is not running)
#   reset    stop, delete .pg/data, start again (an empty, freshly migrated database)
#   status   running or not, and the connection URL
#   migrate  supabase db push (supabase/migrations) then the sql/ library (scripts/db.ts library)
#   url      print the connection URL (postgres, the owner); --role authenticator: the server's login
# Every subcommand is safe to re-run.
#
# Login: user postgres, password postgres, scram-sha-256 over TCP on loopback only (no TLS, so the
# Supabase CLI gets ?sslmode=disable); no Unix socket. The MCP and ingest functions log in as
# `authenticator` (no superuser, no privileges of its own, may only switch to anon, authenticated,
# service_role; supabase/migrations/20261202000200_authenticator.sql): every start sets its password
# to AOMA_AUTHENTICATOR_PASSWORD (default `authenticator`, a local-only password).
# Postgres refuses to run as root, so as root the server runs as the OS user `postgres` (created by
# the Debian package) and owns .pg/; as any other user it runs as that user.
# Environment: AOMA_PG_PORT (default 54322) to move the cluster, AOMA_PG_BIN (default
# /usr/lib/postgresql/15/bin).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGBIN="${AOMA_PG_BIN:-/usr/lib/postgresql/15/bin}"
PORT="${AOMA_PG_PORT:-54322}"
PGHOME="$ROOT/.pg"
PGDATA="$PGHOME/data"
PGLOG="$PGHOME/postgres.log"
URL="postgresql://postgres:postgres@127.0.0.1:$PORT/postgres"
AUTHENTICATOR_PASSWORD="${AOMA_AUTHENTICATOR_PASSWORD:-authenticator}"
APT_PACKAGES=(postgresql-15 postgresql-15-cron postgresql-15-pgtap postgresql-15-plpgsql-check
  libtap-parser-sourcehandler-pgtap-perl)

say() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# Percent-encodes a URL's user-info part (RFC 3986 unreserved characters pass unchanged).
urlencode() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in [A-Za-z0-9._~-]) out+="$c" ;; *) out+="$(printf '%%%02X' "'$c")" ;; esac
  done
  printf '%s' "$out"
}

# The URL the server (MCP and ingest functions) connects with: the login role authenticator.
server_url() { echo "postgresql://authenticator:$(urlencode "$AUTHENTICATOR_PASSWORD")@127.0.0.1:$PORT/postgres"; }

# Before anything starts: the server binaries and the preloaded/created extensions must be
# installed, else initdb or the server fails half-way (e.g. "could not access file pg_cron").
preflight() {
  local missing=() f libdir sharedir
  for f in postgres initdb pg_ctl; do
    [ -x "$PGBIN/$f" ] || missing+=("$PGBIN/$f (postgresql-15)")
  done
  for f in psql pg_isready; do
    command -v "$f" >/dev/null || missing+=("$f (postgresql-client-15)")
  done
  if [ -x "$PGBIN/pg_config" ]; then
    libdir="$("$PGBIN/pg_config" --pkglibdir)"
    sharedir="$("$PGBIN/pg_config" --sharedir)"
  else
    libdir="$(dirname "$PGBIN")/lib"
    sharedir="/usr/share/postgresql/$(basename "$(dirname "$PGBIN")")"
  fi
  [ -f "$libdir/pg_cron.so" ] || missing+=("$libdir/pg_cron.so (postgresql-15-cron)")
  [ -f "$sharedir/extension/pg_cron.control" ] || missing+=("$sharedir/extension/pg_cron.control (postgresql-15-cron)")
  [ -f "$sharedir/extension/pgtap.control" ] || missing+=("$sharedir/extension/pgtap.control (postgresql-15-pgtap)")
  [ -f "$sharedir/extension/plpgsql_check.control" ] \
    || missing+=("$sharedir/extension/plpgsql_check.control (postgresql-15-plpgsql-check)")
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'stack: missing: %s\n' "${missing[@]}" >&2
    die "start: PostgreSQL 15 or its extensions are not installed; run \`npm run db:install\` (as root, or with sudo) first"
  fi
}

# Runs a command as the cluster's OS user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

deno_bin() {
  if [ -x "$ROOT/node_modules/.bin/deno" ]; then echo "$ROOT/node_modules/.bin/deno"
  elif command -v deno >/dev/null; then command -v deno
  else die "deno not found: run npm install first"; fi
}

supabase_bin() {
  [ -x "$ROOT/node_modules/.bin/supabase" ] || die "the pinned Supabase CLI is missing: run npm install first"
  echo "$ROOT/node_modules/.bin/supabase"
}

psql_url() { PGPASSWORD=postgres PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }

is_running() { [ -f "$PGDATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

cmd_install() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then say "install: all packages present"; return 0; fi
  [ "$(id -u)" = 0 ] || die "install: missing ${missing[*]}; run as root (or sudo apt-get install them)"
  say "install: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# First start only: a cluster owned by the server's OS user, superuser postgres/postgres.
init_cluster() {
  [ -x "$PGBIN/initdb" ] || die "no PostgreSQL 15 at $PGBIN: run 'bash scripts/stack.sh install'"
  mkdir -p "$PGHOME"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "the OS user postgres is missing (it comes with the postgresql-15 package)"
    chown postgres: "$PGHOME"
    runuser -u postgres -- test -x "$PGHOME" \
      || die "the OS user postgres cannot reach $PGHOME: make its parent directories world-executable"
  fi
  local pw="$PGHOME/.pwfile"
  as_pg sh -c "umask 077 && echo postgres > '$pw'"
  say "start: initdb $PGDATA"
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pw" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pw"
  echo "include_if_exists = 'aoma.conf'" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
}

# Rewritten on every start so that changes here reach existing clusters.
write_conf() {
  as_pg tee "$PGDATA/aoma.conf" >/dev/null <<EOF
# Written by scripts/stack.sh on every start; edit that script, not this file.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
password_encryption = 'scram-sha-256'
# a test cluster: a crash may lose the last commits but never corrupts
synchronous_commit = off
max_connections = 100
EOF
}

wait_ready() {
  local i
  for i in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" -U postgres && return 0
    sleep 1
  done
  die "the cluster did not become ready within 60 s; see $PGLOG"
}

# Roles, extensions and the database search path; idempotent.
bootstrap() {
  psql_url -f "$ROOT/scripts/roles.sql"
  # the server's login password, local only (the variable keeps it out of the command line)
  psql_url -v pw="$AUTHENTICATOR_PASSWORD" <<'SQL'
alter role authenticator password :'pw';
SQL
  psql_url <<'SQL'
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
-- pg_cron keeps its tables in schema cron; like Supabase, its extension schema is pg_catalog
create extension if not exists pg_cron schema pg_catalog;
create extension if not exists pgtap schema extensions;
create extension if not exists plpgsql_check schema extensions;
-- as on Supabase: extensions are reachable without qualification
alter database postgres set search_path to "$user", public, extensions;
SQL
  say "start: roles and extensions (pg_cron, pgtap, plpgsql_check) ready"
}

cmd_start() {
  preflight
  [ -f "$PGDATA/PG_VERSION" ] || init_cluster
  if is_running; then
    say "start: already running on 127.0.0.1:$PORT"
  else
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then
      die "port $PORT is taken by another server (supabase start?); stop it or set AOMA_PG_PORT"
    fi
    write_conf
    as_pg touch "$PGLOG"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 start >/dev/null \
      || { tail -n 20 "$PGLOG" >&2; die "pg_ctl start failed; see $PGLOG"; }
    say "start: started on 127.0.0.1:$PORT"
  fi
  wait_ready
  bootstrap
  cmd_migrate
}

cmd_migrate() {
  is_running || die "migrate: the cluster is not running: run 'bash scripts/stack.sh start'"
  say "migrate: supabase db push"
  (cd "$ROOT" && "$(supabase_bin)" db push --remote="$URL?sslmode=disable" --include-all --yes </dev/null)
  say "migrate: sql/ library"
  (cd "$ROOT" && "$(deno_bin)" run -A scripts/db.ts library --url "$URL")
}

cmd_stop() {
  if is_running; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -w -t 60 -m fast stop >/dev/null
    say "stop: stopped"
  else
    say "stop: not running"
  fi
}

cmd_reset() {
  cmd_stop
  say "reset: deleting $PGDATA"
  rm -rf "$PGDATA"
  cmd_start
}

cmd_status() {
  if is_running && pg_isready -q -h 127.0.0.1 -p "$PORT"; then
    echo "running: PostgreSQL $(cat "$PGDATA/PG_VERSION") in $PGDATA on 127.0.0.1:$PORT"
    echo "url: $URL"
    echo "server url: $(server_url)"
  elif [ -f "$PGDATA/PG_VERSION" ]; then
    echo "stopped: cluster in $PGDATA (start it with: npm run db:start)"
    echo "url: $URL"
    echo "server url: $(server_url)"
  else
    echo "absent: no cluster yet (create it with: npm run db:start)"
    echo "url: $URL"
    echo "server url: $(server_url)"
  fi
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  reset) cmd_reset ;;
  status) cmd_status ;;
  migrate) cmd_migrate ;;
  url)
    role="${2:-}"
    [ "$role" = --role ] && role="--role=${3:-}"
    case "$role" in
      "" | --role=postgres) echo "$URL" ;;
      --role=authenticator) server_url ;;
      *) die "url: use url [--role postgres|authenticator]; got \"${*:2}\"" ;;
    esac ;;
  *) sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
