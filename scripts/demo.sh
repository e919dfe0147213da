#!/usr/bin/env bash
# Berth's main job end to end on a fresh machine: set up, make the base images from Debian packages
# (busybox-static; python3 through debootstrap, a few minutes the first time, cached after), build
# the seed's example app test-fixtures/friendlyhello from its Dockerfile, run it with its port
# published on 4000 and fetch its page, with the berth CLI (which starts berthd on demand).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
port=${DEMO_PORT:-4000}

say "making busybox:latest from Debian's busybox-static"
test-fixtures/busybox/make-image.sh busybox:latest
say "making python:3 from Debian's python3 (debootstrap; cached after the first run)"
test-fixtures/python/make-image.sh
say "berth build -t friendlyhello test-fixtures/friendlyhello"
berth build -t friendlyhello test-fixtures/friendlyhello
say "berth run -d --name friendlyhello-demo -p $port:80 friendlyhello"
berth rm -f friendlyhello-demo >/dev/null 2>&1 || true
berth run -d --name friendlyhello-demo -p "$port:80" friendlyhello
trap 'berth rm -f friendlyhello-demo >/dev/null 2>&1 || true' EXIT
say "curl http://127.0.0.1:$port/"
for i in $(seq 1 100); do
  if page=$(curl -fsS "http://127.0.0.1:$port/" 2>/dev/null); then break; fi
  [ "$i" = 100 ] && { berth logs friendlyhello-demo >&2; echo "friendlyhello did not answer on port $port" >&2; exit 1; }
  sleep 0.1
done
printf '%s\n' "$page"
case $page in *"Hello World!"*) ;; *) echo "unexpected page" >&2; exit 1 ;; esac
say "berth ps"
berth ps
say "berth logs friendlyhello-demo"
berth logs friendlyhello-demo
say "berth run --rm busybox echo hello from a berth container"
berth run --rm busybox echo hello from a berth container
