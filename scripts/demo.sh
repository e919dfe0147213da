#!/usr/bin/env bash
# Berth's main job end to end on a fresh machine: set up, make the busybox base image from Debian's
# busybox-static package, build the example app in test-fixtures/hello from its Dockerfile, and run
# it with the berth CLI (which starts berthd on demand).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "making busybox:latest from Debian's busybox-static"
test-fixtures/busybox/make-image.sh busybox:latest
say "berth build -t hello test-fixtures/hello"
berth build -t hello test-fixtures/hello
say "berth run --rm hello"
berth run --rm hello
say "berth images"
berth images
say "berth run --rm busybox echo hello from a berth container"
berth run --rm busybox echo hello from a berth container
say "berth run --rm busybox sh -c 'hostname; id; cat /proc/1/cmdline | tr \"\\0\" \" \"; echo'"
berth run --rm --hostname demo busybox sh -c 'hostname; id; cat /proc/1/cmdline | tr "\0" " "; echo'
