#!/usr/bin/env bash
# Benchmark: `docker push` and `docker pull` (with unpacking) of a ~200 MB, 4-layer image to and
# from a local registry (Debian's docker-registry, plain HTTP on 127.0.0.1), berthd against a
# private reference dockerd, with the same docker CLI as the client of both; for reference also
# `podman push` / `podman pull` (--tls-verify=false, a private podman store) and `skopeo copy
# docker://... oci:DIR` (download and verify, no unpacking), all interleaved in the same
# iterations. Throughput is the 4 layers' uncompressed size over the median time.
#
# usage: bench/push-pull.sh          (as root)
# env:   BENCH_N=3                   timed iterations per case
#        BENCH_LAYER_MB=50           size of each of the 4 random layers
#        BENCH_PODMAN=0              leave podman and skopeo out (podman is installed with apt-get
#                                    if missing; a tool that cannot be had is skipped with a line)
#        BENCH_SKIP_BUILD=1          use the existing apps/*/dist builds
#        BENCH_KEEP=1                keep the temp dir (logs) after cleanup
#
# Every push goes to a registry with empty storage (restarted between pushes), so each push
# uploads every layer; every pull starts from a daemon (or store, or empty OCI dir) without the
# image's layers; skopeo copies what podman (or berth) pushed in the same iteration.
# Everything it starts lives under one mktemp dir and is stopped by PID at exit; podman's store
# and the containers/image caches of podman and skopeo live there too (lib.sh: pm, in_private_ns).
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

# --- podman's private store (the image loaded from berth's save) and skopeo ---
podman_init
TOOLS=(dockerd berth)
if [ "$HAVE_PODMAN" = 1 ]; then
  TOOLS+=(podman)
  docker save -o "$T/img.tar" bench:img
  pm load -q -i "$T/img.tar" >/dev/null # named docker.io/library/bench:img
  pm tag docker.io/library/bench:img localhost/bench:img
  pm untag localhost/bench:img docker.io/library/bench:img
  names=$(pm images --format '{{.Repository}}:{{.Tag}}')
  # a second name would keep the layers through the rmi before each pull
  [ "$names" = localhost/bench:img ] || die "podman's store should hold only localhost/bench:img, found: $names"
  rm -f "$T/img.tar"
  if command -v skopeo >/dev/null; then TOOLS+=(skopeo); else say "skopeo column skipped: skopeo is not installed"; fi
fi
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
for d in "${TOOLS[@]}"; do PUSH[$d]=""; PULL[$d]=""; done
PULL_CPU=""
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "load average at start: $loadavg_start"
bytes=$((4 * LAYER_MB * 1000000))
for i in $(seq 1 "$N"); do
  for d in "${TOOLS[@]}"; do
    case $d in
      dockerd | berth)
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
        unset DOCKER_HOST
        ;;
      podman)
        start_registry
        pm tag localhost/bench:img "$reg/bench:$i"
        t0=$(now); pm push -q --tls-verify=false "$reg/bench:$i"; t1=$(now)
        pm rmi "$reg/bench:$i" localhost/bench:img >/dev/null
        t2=$(now); pm pull -q --tls-verify=false "$reg/bench:$i" >/dev/null; t3=$(now)
        pm tag "$reg/bench:$i" localhost/bench:img
        pm rmi "$reg/bench:$i" >/dev/null
        ;;
      skopeo)
        rm -rf "$T/oci"
        t0=0 t1=0
        t2=$(now); in_private_ns skopeo copy -q --src-tls-verify=false "docker://$reg/bench:$i" "oci:$T/oci" >/dev/null; t3=$(now)
        ;;
    esac
    [ "$d" = skopeo ] || PUSH[$d]+="$(echo "$t1 - $t0" | bc) "
    PULL[$d]+="$(echo "$t3 - $t2" | bc) "
  done
  say "iteration $i/$N done"
done

median() { tr ' ' '\n' | { grep -v '^$' || true; } | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mbs() { [ -z "$1" ] || echo "$bytes / 1000000 / $1" | bc -l; }
declare -A PUSH_MBS PULL_MBS
printf '\n| tool | layers | push median | push MB/s | pull median | pull MB/s |\n| --- | --- | --- | --- | --- | --- |\n'
for d in "${TOOLS[@]}"; do
  s=$(echo "${PUSH[$d]}" | median); l=$(echo "${PULL[$d]}" | median)
  [ "$d" = skopeo ] || PUSH_MBS[$d]=$(mbs "$s")
  PULL_MBS[$d]=$(mbs "$l")
  if [ "$d" = skopeo ]; then
    printf '| skopeo (copy to oci:, no unpacking) | 4 x %s MB | - | - | %.3f s | %.0f |\n' "$LAYER_MB" "$l" "${PULL_MBS[$d]}"
  else
    printf '| %s | 4 x %s MB | %.3f s | %.0f | %.3f s | %.0f |\n' "$d" "$LAYER_MB" "$s" "${PUSH_MBS[$d]}" "$l" "${PULL_MBS[$d]}"
  fi
done
for d in "${TOOLS[@]}"; do
  case $d in
    berth) continue ;;
    skopeo) printf '| berth / skopeo (throughput) | | | - | | %.2fx |\n' "$(echo "${PULL_MBS[berth]} / ${PULL_MBS[$d]}" | bc -l)" ;;
    *) printf '| berth / %s (throughput) | | | %.2fx | | %.2fx |\n' "$d" \
      "$(echo "${PUSH_MBS[berth]} / ${PUSH_MBS[$d]}" | bc -l)" "$(echo "${PULL_MBS[berth]} / ${PULL_MBS[$d]}" | bc -l)" ;;
  esac
done
printf '\nberthd CPU per pull (user+system, all threads): %s s (median %s s); load average: at start %s, at end %s\n' \
  "$PULL_CPU" "$(echo "$PULL_CPU" | median)" "$loadavg_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$here/results"
json() { # json NAME: {"dockerd":"...","berth":"...",...} from the array named NAME
  local -n arr=$1
  local d sep="" out="{"
  for d in "${TOOLS[@]}"; do [ -n "${arr[$d]:-}" ] && out+="$sep\"$d\":\"${arr[$d]}\"" && sep=","; done
  printf '%s}' "$out"
}
printf '{"n":%s,"bytes":%s,"push":%s,"pull":%s,"berthdPullCpu":"%s","loadavgStart":"%s","loadavgEnd":"%s"}\n' \
  "$N" "$bytes" "$(json PUSH)" "$(json PULL)" "$PULL_CPU" "$loadavg_start" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  >"$here/results/push-pull-$(date -u +%Y-%m-%dT%H-%M-%SZ).json"
