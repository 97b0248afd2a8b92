#!/usr/bin/env bash
# Installs the tools the end-to-end tests (tests/e2e) drive from outside the server:
#   - the MCP Inspector CLI, into tools/inspector/node_modules, exactly as pinned by
#     tools/inspector/package-lock.json (`npm ci --prefix tools/inspector`).
# The conformance suite needs no install step: the test runs it through Deno's npm support
# (`deno run npm:@modelcontextprotocol/conformance@<pinned>`), which caches it on first use.
#
# Idempotent: when the installed tree was made from the current lock file (a stamp holding the
# lock's checksum) and the CLI entry point exists, nothing is done. Prints one status line.
#
# Usage: bash scripts/install-test-tools.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/tools/inspector"
LOCK="$DIR/package-lock.json"
STAMP="$DIR/node_modules/.aoma-lock-sha256"
BIN="$DIR/node_modules/.bin/mcp-inspector-cli"

force=0
case "${1:-}" in
  "") ;;
  --force) force=1 ;;
  *) echo "Usage: bash scripts/install-test-tools.sh [--force]" >&2; exit 2 ;;
esac

command -v node >/dev/null || { echo "Cannot install the Inspector CLI: node is not on PATH." >&2; exit 1; }
command -v npm >/dev/null || { echo "Cannot install the Inspector CLI: npm is not on PATH." >&2; exit 1; }
[ -f "$LOCK" ] || { echo "Cannot install the Inspector CLI: $LOCK is missing." >&2; exit 1; }

want="$(sha256sum "$LOCK" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$force" = 0 ] && [ "$want" = "$have" ] && [ -x "$BIN" ]; then
  echo "install-test-tools: Inspector CLI up to date ($DIR)"
  exit 0
fi

npm ci --prefix "$DIR" --no-audit --no-fund --loglevel=error
[ -x "$BIN" ] || { echo "Cannot install the Inspector CLI: $BIN was not created by npm ci." >&2; exit 1; }
echo "$want" > "$STAMP"
echo "install-test-tools: Inspector CLI installed ($DIR)"
