#!/usr/bin/env bash
# Benchmark: `docker push` and `docker pull` (with unpacking) of a ~200 MB, 4-layer image to and
# from a local registry (Debian's docker-registry, plain HTTP on 127.0.0.1), berthd against a
# private reference dockerd, interleaved, with the same docker CLI as the client of both.
#
# usage: bench/push-pull.sh          (as root)
# env:   BENCH_N=3                   timed iterations per case
#        BENCH_LAYER_MB=50           size of each of the 4 random layers
#        BENCH_SKIP_BUILD=1          use the existing apps/*/dist builds
#        BENCH_KEEP=1                keep the temp dir (logs) after cleanup
#
# Every push goes to a registry with empty storage (restarted between pushes), so each push
# uploads every layer; every pull starts from a daemon without the image's layers.
# Everything it starts lives under one mktemp dir and is stopped by PID at exit.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${BENCH_N:-3}
LAYER_MB=${BENCH_LAYER_MB:-50}

bench_init push-pull docker-registry

registry_pid=""
bench_on_exit 'stop_pid "$registry_pid" registry'

bench_build

# --- the image: busybox plus 4 layers of random data, built the same way on both daemons ---
rootfs=$T/busybox.tar
"$repo/test-fixtures/busybox/make-rootfs.sh" "$rootfs"
mkdir -p "$T/ctx"
for i in 1 2 3 4; do head -c "$((LAYER_MB * 1000000))" /dev/urandom >"$T/ctx/data$i"; done
printf 'FROM bench:base\nCOPY data1 /data1\nCOPY data2 /data2\nCOPY data3 /data3\nCOPY data4 /data4\n' >"$T/ctx/Dockerfile"

# --- our own dockerd ---
start_dockerd

# --- our own berthd ---
start_berthd 10.253.251.1/24 10.253.0.0/16

declare -A SOCK=([dockerd]="$T/docker.sock" [berth]="$T/b/berth.sock")
for d in dockerd berth; do
  export DOCKER_HOST=unix://${SOCK[$d]}
  docker import --change 'CMD ["sh"]' "$rootfs" bench:base >/dev/null
  DOCKER_BUILDKIT=0 docker build -q -t bench:img "$T/ctx" >/dev/null
done
unset DOCKER_HOST

# --- the registry: restarted with empty storage before every push ---
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
reg=127.0.0.1:$port
start_registry() {
  local i
  stop_pid "$registry_pid" registry
  registry_pid=""
  rm -rf "$T/reg"
  mkdir -p "$T/reg"
  "$repo/test-fixtures/registry/registry.sh" plain "$T/reg" "$port" >>"$T/registry.log" 2>&1 &
  registry_pid=$!
  for i in $(seq 1 100); do
    curl -sf "http://$reg/v2/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "registry did not start"
}

now() { date +%s.%N; }
# CPU seconds (user+system, all threads) of a process so far.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
declare -A PUSH PULL
for d in dockerd berth; do PUSH[$d]=""; PULL[$d]=""; done
PULL_CPU=""
bytes=$((4 * LAYER_MB * 1000000))
for i in $(seq 1 "$N"); do
  for d in dockerd berth; do
    export DOCKER_HOST=unix://${SOCK[$d]}
    start_registry
    docker tag bench:img "$reg/bench:$i" >/dev/null
    t0=$(now); docker push "$reg/bench:$i" >/dev/null; t1=$(now)
    docker rmi "$reg/bench:$i" bench:img >/dev/null
    [ "$d" = berth ] && c0=$(cpu_of "$berthd_pid")
    t2=$(now); docker pull -q "$reg/bench:$i" >/dev/null; t3=$(now)
    [ "$d" = berth ] && PULL_CPU+="$(echo "$(cpu_of "$berthd_pid") - $c0" | bc) "
    docker tag "$reg/bench:$i" bench:img >/dev/null
    docker rmi "$reg/bench:$i" >/dev/null
    PUSH[$d]+="$(echo "$t1 - $t0" | bc) "
    PULL[$d]+="$(echo "$t3 - $t2" | bc) "
  done
  say "iteration $i/$N done"
done
unset DOCKER_HOST

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '\n| daemon | layers | push median | push MB/s | pull median | pull MB/s |\n| --- | --- | --- | --- | --- | --- |\n'
for d in dockerd berth; do
  s=$(echo "${PUSH[$d]}" | median); l=$(echo "${PULL[$d]}" | median)
  printf '| %s | 4 x %s MB | %.3f s | %.0f | %.3f s | %.0f |\n' "$d" "$LAYER_MB" "$s" \
    "$(echo "$bytes / 1000000 / $s" | bc -l)" "$l" "$(echo "$bytes / 1000000 / $l" | bc -l)"
done
printf '\nberthd CPU per pull (user+system, all threads): %s s (median %s s); load average: %s\n' \
  "$PULL_CPU" "$(echo "$PULL_CPU" | median)" "$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$here/results"
printf '{"n":%s,"bytes":%s,"push":{"dockerd":"%s","berth":"%s"},"pull":{"dockerd":"%s","berth":"%s"},"berthdPullCpu":"%s"}\n' \
  "$N" "$bytes" "${PUSH[dockerd]}" "${PUSH[berth]}" "${PULL[dockerd]}" "${PULL[berth]}" "$PULL_CPU" \
  >"$here/results/push-pull-$(date -u +%Y-%m-%dT%H-%M-%SZ).json"
