#!/usr/bin/env bash
# Runs Berth's whole test suite on a fresh machine: setup, lint, typecheck, unit tests, then the
# integration tests against real runc, conmon, overlayfs and the real docker CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "lint"
pnpm exec biome ci . --reporter=summary
say "typecheck"
pnpm exec turbo run typecheck --output-logs=errors-only
say "tests"
pnpm exec vitest run
