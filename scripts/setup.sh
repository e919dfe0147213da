#!/usr/bin/env bash
# Installs whatever this machine lacks to build and run Berth, builds it, and puts `berth` and
# `berthd` on the PATH. Safe to run again: each step is skipped when already done.
# Needs: Debian 12, Node 20, root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh must run as root: Berth mounts file systems and creates namespaces" >&2
  exit 1
fi

debs=(runc conmon iproute2 iptables busybox-static debootstrap curl zstd)
# The test suite's peers and interop checkers: a registry (distribution), htpasswd, openssl for a
# test CA, skopeo and umoci, Debian's docker-compose 1.29, and a reference dockerd (docker.io) that
# the interop tests start on private paths. scripts/test.sh asks for them.
if [ "${BERTH_SETUP_TEST_TOOLS:-}" = 1 ]; then
  debs+=(docker-registry apache2-utils openssl skopeo umoci docker-compose docker.io)
fi
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  # Packages with services (docker.io, docker-registry) must not start them: the tests start their
  # own instances on private paths. policy-rc.d tells invoke-rc.d to leave services alone.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ -n "$policy" ]; then rm -f "$policy"; fi
fi

want_pnpm=12.4.2
if ! command -v pnpm >/dev/null || [ "$(pnpm --version 2>/dev/null)" != "$want_pnpm" ]; then
  say "installing pnpm $want_pnpm"
  npm install -g "pnpm@$want_pnpm" >/dev/null
fi

say "installing dependencies"
CI=true pnpm install --frozen-lockfile --reporter=silent

say "building"
pnpm exec turbo run build --output-logs=errors-only >/dev/null

ln -sf "$repo/apps/cli/bin/berth.js" /usr/local/bin/berth
ln -sf "$repo/apps/daemon/bin/berthd.js" /usr/local/bin/berthd
say "berth and berthd are on the PATH ($(command -v berth), $(command -v berthd))"
