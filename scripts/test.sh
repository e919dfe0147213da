#!/usr/bin/env bash
# Runs Berth's whole test suite on a fresh machine: setup, lint, typecheck, unit tests, then the
# integration tests against real runc, conmon, overlayfs and the real docker CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH_SETUP_TEST_TOOLS=1 bash scripts/setup.sh
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "lint"
pnpm exec biome ci . --reporter=summary
say "typecheck"
pnpm exec turbo run typecheck --output-logs=errors-only
say "tests"
results=$(mktemp)
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results" || status=$?
# One closing line that any CI can read: "N passed, N failed".
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));' "$results" || true
rm -f "$results"
exit "$status"
