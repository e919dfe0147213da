#!/usr/bin/env bash
# Where does berthd's time go in `run --rm busybox true`? Starts a private berthd under
# `strace -f --seccomp-bpf` (only execve, exit_group and accept4 stop the tracee, so the overhead is
# small), runs a few traced containers and prints, per run, every process berthd spawned with its
# start offset and duration relative to the client's start.
#
# usage: bench/profile.sh [RUNS]      (as root; env BENCH_CLIENT=berth to profile the berth CLI)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
RUNS=${1:-3}
CLIENT=${BENCH_CLIENT:-docker}
[ "$(id -u)" = 0 ] || { echo "profile.sh: needs root" >&2; exit 1; }

P=$(mktemp -d /tmp/berth-prof.XXXXXX)
strace_pid=""
cleanup() {
  set +e
  local ids pid m
  if [ -n "$strace_pid" ] && kill -0 "$strace_pid" 2>/dev/null; then
    ids=$(DOCKER_HOST=unix://$P/b/berth.sock docker ps -aq 2>/dev/null)
    [ -n "$ids" ] && DOCKER_HOST=unix://$P/b/berth.sock docker rm -f $ids >/dev/null 2>&1
    # strace forwards nothing: stop berthd itself (strace's only direct child), strace then exits.
    pid=$(pgrep -P "$strace_pid" | head -1)
    [ -n "$pid" ] && kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$strace_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  awk -v t="$P/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done
  [ "${BENCH_KEEP:-}" = 1 ] && echo "kept $P" >&2 || rm -rf "$P"
}
trap cleanup EXIT

mkdir -p "$P/d" "$P/b"
strace -f --seccomp-bpf -ttt -s 160 -e trace=execve,exit_group,accept4 -o "$P/strace.txt" \
  node "$repo/apps/daemon/bin/berthd.js" --data-root "$P/d" --exec-root "$P/b" >"$P/berthd.log" 2>&1 &
strace_pid=$!
export DOCKER_HOST=unix://$P/b/berth.sock BERTH_NO_AUTOSTART=1
for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
"$repo/test-fixtures/busybox/make-rootfs.sh" "$P/bb.tar"
docker import --change 'CMD ["sh"]' "$P/bb.tar" busybox:latest >/dev/null
client() {
  if [ "$CLIENT" = berth ]; then node "$repo/apps/cli/bin/berth.js" "$@"; else docker "$@"; fi
}
for _ in 1 2 3; do client run --rm busybox true; done
: >"$P/marks"
for i in $(seq 1 "$RUNS"); do
  sleep 0.3
  t0=$(date +%s.%N)
  client run --rm busybox true
  t1=$(date +%s.%N)
  echo "$t0 $t1" >>"$P/marks"
done
sleep 0.5
node "$here/profile-report.mjs" "$P/strace.txt" "$P/marks" "$CLIENT"
