#!/usr/bin/env bash
# What `npm test` runs (npm install is assumed done):
#   1. the local stack: scripts/stack.sh install + start (idempotent; start also migrates)
#   2. pg_prove over tests/sql/*.sql against the local cluster
#   3. scripts/lint.sh (supabase db lint + plpgsql_check)
#   4. deno test -A tests/ with AOMA_TEST_DB_URL set to the local cluster
#   5. deno test -A tests/ without it (the tests use PGlite)
# Every runner's own output stays visible. Counts are collected from each runner (pg_prove's
# summary, deno test's "ok | N passed | N failed" line, lint's TAP lines); a runner that fails
# without reporting a failed test (crash, type error, bad plan) counts as one failure, and so
# does a stack that cannot start (the runners that need it are then skipped).
# The last line is exactly `N passed, N failed`; the exit status is non-zero on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
URL="$(bash scripts/stack.sh url)"
PORT="${AOMA_PG_PORT:-54322}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# V8's linear-time regex engine, as every entry point starts with (src/process/deno_child.ts V8_FLAGS)
V8_FLAGS="$(sed -nE 's/^export const V8_FLAGS = "([^"]+)";$/\1/p' src/process/deno_child.ts)"
PASSED=0
FAILED=0
REPORT=()

banner() { printf '\n━━━━━━━━━━ %s ━━━━━━━━━━\n' "$*"; }

# record NAME PASSED FAILED
record() {
  PASSED=$((PASSED + $2))
  FAILED=$((FAILED + $3))
  REPORT+=("$(printf '%-26s %5d passed, %d failed' "$1" "$2" "$3")")
}

strip_ansi() { sed -E 's/\x1b\[[0-9;]*[A-Za-z]//g' "$1"; }

# Runs a command with its output shown and kept in $OUT/$1.log; returns its exit status.
run_logged() {
  local name="$1"; shift
  "$@" 2>&1 | tee "$OUT/$name.log"
  return "${PIPESTATUS[0]}"
}

# ── 1. stack ─────────────────────────────────────────────────────────────────────────────────
banner "local stack (scripts/stack.sh install, start)"
stack_ok=1
if ! bash scripts/stack.sh install || ! bash scripts/stack.sh start; then
  stack_ok=0
  record "stack" 0 1
  echo "test: the local stack did not come up; pg_prove, lint and the cluster run of deno test are skipped"
fi

# ── 2. pg_prove ──────────────────────────────────────────────────────────────────────────────
pg_files=(tests/sql/*.sql)
if [ $stack_ok = 1 ] && [ -e "${pg_files[0]}" ]; then
  banner "pgTAP (pg_prove tests/sql/*.sql)"
  PGPASSWORD=postgres run_logged pgtap pg_prove -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "${pg_files[@]}"
  rc=$?
  log="$(strip_ansi "$OUT/pgtap.log")"
  total="$(printf '%s\n' "$log" | sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' | tail -n 1)"
  # Summary report: one "(Wstat: W Tests: T Failed: F)" line per failing file, then details. A
  # file counts F failures, plus one when it died or broke its plan (Wstat ≠ 0, "Parse errors").
  read -r subtests_failed bad < <(printf '%s\n' "$log" | awk '
    function flush() { if (seen) { sub_f += f; bad += f + (extra ? 1 : 0) } }
    /\(Wstat: [0-9]+.* Tests: [0-9]+ Failed: [0-9]+\)$/ {
      flush(); seen = 1
      match($0, /Wstat: [0-9]+/); w = substr($0, RSTART + 7, RLENGTH - 7) + 0
      match($0, /Failed: [0-9]+\)$/); f = substr($0, RSTART + 8, RLENGTH - 9) + 0
      extra = (w != 0); next
    }
    /^  Parse errors:/ { extra = 1 }
    END { flush(); print sub_f + 0, bad + 0 }')
  if [ -z "$total" ]; then total=0; [ "$bad" -gt 0 ] || bad=1; fi
  if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  record "pgTAP (pg_prove)" $((total - subtests_failed)) "$bad"
  # pg_prove's summary names each failing file with its failed test numbers
  printf '%s\n' "$log" | grep -E '^(tests/sql/[^ ]+) +\(Wstat|^  Failed tests?:' | sed 's/^/  pgTAP: /' >>"$OUT/failures.txt"
fi

# ── 3. lint ──────────────────────────────────────────────────────────────────────────────────
if [ $stack_ok = 1 ]; then
  banner "lint (scripts/lint.sh)"
  run_logged lint bash scripts/lint.sh --url "$URL"
  rc=$?
  ok="$(grep -cE '^ok [0-9]+' "$OUT/lint.log")"
  notok="$(grep -cE '^not ok [0-9]+' "$OUT/lint.log")"
  if [ $rc -ne 0 ] && [ "$notok" -eq 0 ]; then notok=1; fi
  record "lint" "$ok" "$notok"
fi

# ── 4./5. deno test ──────────────────────────────────────────────────────────────────────────
# deno_tests NAME IGNORE [env assignments…]: one `deno test` run with the repo's deno.json;
# IGNORE is a --ignore list (or empty)
deno_tests() {
  local name="$1" ignore="$2"; shift 2
  run_logged "$name" env "$@" deno test --allow-all "--v8-flags=$V8_FLAGS" --config deno.json --permit-no-files ${ignore:+--ignore=$ignore} tests/
  local rc=$? log summary p f
  log="$(strip_ansi "$OUT/$name.log")"
  summary="$(printf '%s\n' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n 1)"
  p="$(printf '%s\n' "$summary" | sed -nE 's/.*\| ([0-9]+) passed.*/\1/p')"
  f="$(printf '%s\n' "$summary" | sed -nE 's/.*\| ([0-9]+) failed.*/\1/p')"
  p="${p:-0}"; f="${f:-0}"
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  record "$name" "$p" "$f"
  # deno test ends with "ERRORS" (each failure with its message) then "FAILURES" (one line each:
  # "test name => file:line"); keep the names so the summary, the last thing CI shows, says what failed.
  if [ "$f" -gt 0 ]; then
    printf '%s\n' "$log" | awk '/^ *FAILURES *$/ { on = 1; next } on && /^(ok|FAILED) \|/ { exit } on && NF' \
      | sed "s/^/  $name: /" >>"$OUT/failures.txt"
    { echo "── $name: the first lines of each failure"
      printf '%s\n' "$log" | awk '/^ *ERRORS *$/ { on = 1; next } /^ *FAILURES *$/ { exit }
        on && / => .*:[0-9]+:[0-9]+$/ { n = 0; print; next } on && n < 12 && NF { print; n++ }'
    } >>"$OUT/errors.txt"
  fi
}

# The end-to-end tests start the real server on its own fresh PGlite folder whatever the
# environment says, so they run once, in the PGlite pass — except the Inspector's, which also
# serves a scratch database of the local cluster (its server variant) in the postgres pass.
if [ -f scripts/install-test-tools.sh ]; then
  banner "end-to-end test tools (scripts/install-test-tools.sh)"
  bash scripts/install-test-tools.sh || { record "test tools" 0 1; }
fi
if [ $stack_ok = 1 ]; then
  banner "deno test tests/ (AOMA_TEST_DB_URL = local cluster)"
  deno_tests "deno test (postgres)" tests/e2e/conformance_test.ts,tests/e2e/discover_test.ts AOMA_TEST_DB_URL="$URL"
fi
banner "deno test tests/ (PGlite)"
deno_tests "deno test (pglite)" "" -u AOMA_TEST_DB_URL

# ── summary ──────────────────────────────────────────────────────────────────────────────────
if [ -s "$OUT/errors.txt" ]; then
  banner "failures (repeated from above)"
  cat "$OUT/errors.txt"
fi
banner "summary"
printf '%s\n' "${REPORT[@]}"
if [ -s "$OUT/failures.txt" ]; then
  echo "failed:"
  cat "$OUT/failures.txt"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
