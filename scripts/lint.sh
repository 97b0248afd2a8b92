#!/usr/bin/env bash
# Lints the database code of our schemas (aoma, analytics, aoma_private) on a running server:
#   1. `supabase db lint` with the pinned CLI, failing on errors;
#   2. plpgsql_check over every PL/pgSQL function in those schemas (trigger functions once per
#      table that uses them); any row it reports — error or warning — is a finding.
# Output is TAP (one test per check, details as # comments) and a last line `lint: PASS` or
# `lint: FAIL`; the exit status is non-zero on any finding.
#
# Usage: bash scripts/lint.sh [--url URL]   (default: the local cluster of scripts/stack.sh)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCHEMAS="aoma,analytics,aoma_private"
URL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL="${2:?--url needs a value}"; shift 2 ;;
    --url=*) URL="${1#--url=}"; shift ;;
    *) echo "Usage: bash scripts/lint.sh [--url URL]" >&2; exit 2 ;;
  esac
done
[ -n "$URL" ] || URL="$(bash "$ROOT/scripts/stack.sh" url)"

failed=0
echo "1..2"

# ── 1. supabase db lint ──────────────────────────────────────────────────────────────────────
# a loopback cluster has no TLS: say so rather than let the CLI try and warn
sep=""
case "$URL" in
  *sslmode=*) ;;
  *@127.0.0.1[:/]*\?* | *@localhost[:/]*\?*) sep="&sslmode=disable" ;;
  *@127.0.0.1[:/]* | *@localhost[:/]*) sep="?sslmode=disable" ;;
esac
out="$(cd "$ROOT" && "$ROOT/node_modules/.bin/supabase" db lint --remote="$URL$sep" --schema "$SCHEMAS" \
  --fail-on error </dev/null 2>&1)"
rc=$?
if [ $rc -eq 0 ]; then
  echo "ok 1 - supabase db lint --schema $SCHEMAS: no errors"
else
  echo "not ok 1 - supabase db lint --schema $SCHEMAS (exit $rc)"
  failed=$((failed + 1))
fi
printf '%s\n' "$out" | sed 's/^/# /'

# ── 2. plpgsql_check ─────────────────────────────────────────────────────────────────────────
read -r -d '' CHECK_SQL <<'SQL'
with ours as (
  select p.oid, p.prorettype
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_language l on l.oid = p.prolang
  where l.lanname = 'plpgsql'
    and n.nspname = any (string_to_array(:'schemas', ','))
    and p.prorettype <> 'event_trigger'::regtype
), targets as (
  select oid, 0::oid as relid from ours where prorettype <> 'trigger'::regtype
  union
  select o.oid, t.tgrelid from ours o join pg_trigger t on t.tgfoid = o.oid
  where o.prorettype = 'trigger'::regtype
)
select concat_ws(' | ',
         t.oid::regprocedure::text || case when t.relid <> 0 then ' on ' || t.relid::regclass::text else '' end,
         c.level, 'line ' || c.lineno, c.statement, c.sqlstate, c.message, c.detail, c.hint)
from targets t
cross join lateral plpgsql_check_function_tb(t.oid, t.relid) c
order by 1;
SQL
checked="$(psql -X -At "$URL" -c "
  select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  join pg_language l on l.oid = p.prolang
  where l.lanname = 'plpgsql' and n.nspname = any (string_to_array('$SCHEMAS', ','))" 2>&1)"
findings="$(printf '%s\n' "$CHECK_SQL" | PGOPTIONS="-c client_min_messages=warning -c search_path=extensions,public" \
  psql -X -At -v ON_ERROR_STOP=1 -v schemas="$SCHEMAS" "$URL" 2>&1)"
rc=$?
if [ $rc -ne 0 ]; then
  echo "not ok 2 - plpgsql_check could not run"
  printf '%s\n' "$findings" | sed 's/^/# /'
  failed=$((failed + 1))
elif [ -n "$findings" ]; then
  echo "not ok 2 - plpgsql_check over $checked PL/pgSQL functions: $(printf '%s\n' "$findings" | wc -l) findings"
  printf '%s\n' "$findings" | sed 's/^/# /'
  failed=$((failed + 1))
else
  echo "ok 2 - plpgsql_check over $checked PL/pgSQL functions: no findings"
fi

if [ $failed -eq 0 ]; then
  echo "lint: PASS"
else
  echo "lint: FAIL ($failed of 2 checks)"
  exit 1
fi
