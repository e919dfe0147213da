#!/usr/bin/env bash
# Benchmark: `docker build` of an 8-step Dockerfile with a context of ~200 small files and one
# 50 MB file: cold build, no-change rebuild, one-file-change rebuild. berthd against a private
# reference dockerd's classic builder (DOCKER_BUILDKIT=0, docker CLI 28) and, if it works, the same
# dockerd's BuildKit through Debian's docker client 20.10 (DOCKER_BUILDKIT=1); interleaved; medians
# and ratios.
#
# usage: bench/build.sh              (as root)
# env:   BENCH_N=5                   timed iterations (each: cold, no-change, one-file per case)
#        BENCH_BIG_MB=50             size of the big (random) file
#        BENCH_FILES=200             number of small files
#        BENCH_SKIP_BUILD=1          use the existing apps/*/dist builds
#        BENCH_KEEP=1                keep the temp dir (logs) after cleanup
#        BENCH_BERTH_ARGS=           extra `berth build` flags for the berth CLI case (e.g. --compression zstd)
#
# Cold: the image and the whole build cache are removed first (`docker rmi`, `docker builder
# prune -af`; the classic builder's cache is its intermediate images, removed with the image).
# Every case builds with `--network none`: the private dockerd has no bridge, so BuildKit can only
# run RUN steps without a network, and the other cases do the same work (berthd would otherwise
# give each RUN a sandbox on its default bridge: a veth pair and an address, ~60-90 ms a step).
# Everything it starts lives under one mktemp dir and is stopped by PID at exit.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${BENCH_N:-5}
BIG_MB=${BENCH_BIG_MB:-50}
FILES=${BENCH_FILES:-200}

bench_init build bc
DOCKER28=$(command -v docker)
DOCKER20=/usr/bin/docker

bench_build

# --- our own dockerd ---
start_dockerd

# --- our own berthd ---
start_berthd 10.253.252.1/24 10.252.0.0/16

rootfs=$T/busybox.tar
"$repo/test-fixtures/busybox/make-rootfs.sh" "$rootfs"

# --- the context: ~200 small files in a few directories, one big random file, 8 steps ---
ctx=$T/ctx
mkdir -p "$ctx/src"
for i in $(seq 1 "$FILES"); do
  dir="$ctx/src/d$((i % 10))"
  mkdir -p "$dir"
  printf 'file %s\n%s\n' "$i" "$(head -c 300 /dev/urandom | base64 -w 76)" >"$dir/f$i.txt"
done
head -c "$((BIG_MB * 1000000))" /dev/urandom >"$ctx/big.bin"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM bench:base
ENV APP=/app
WORKDIR /app
COPY big.bin /data/big.bin
COPY src/ /app/src/
RUN find /app/src -type f | wc -l > /app/count && cat /app/src/d1/* | md5sum > /app/sum
LABEL bench=build
CMD ["cat", "/app/count"]
DOCKERFILE

declare -A SOCK=([dockerd]="$T/docker.sock" [berth]="$T/b/berth.sock")
for d in dockerd berth; do
  DOCKER_HOST=unix://${SOCK[$d]} "$DOCKER28" import --change 'CMD ["sh"]' "$rootfs" bench:base >/dev/null
done

# Cases: name, daemon, command (run with DOCKER_HOST set to the daemon).
CASES=(classic-dockerd buildkit-dockerd classic-berthd berth-cli)
declare -A DAEMON=([classic-dockerd]=dockerd [buildkit-dockerd]=dockerd [classic-berthd]=berth [berth-cli]=berth)
build_cmd() {
  case $1 in
    classic-dockerd | classic-berthd) DOCKER_BUILDKIT=0 "$DOCKER28" build -q --network none -t bench:build "$ctx" ;;
    buildkit-dockerd) DOCKER_BUILDKIT=1 "$DOCKER20" build -q --network none -t bench:build "$ctx" ;;
    berth-cli) BERTH_NO_AUTOSTART=1 node "$repo/apps/cli/bin/berth.js" build -q --network none ${BENCH_BERTH_ARGS:-} -t bench:build "$ctx" ;;
  esac
}
reset_cache() {
  "$DOCKER28" rmi -f bench:build >/dev/null 2>&1 || true
  # The classic builder's cache is its intermediate images: earlier builds leave branches that
  # `rmi` of the tag does not reach (a "cold" build of the original context would hit them).
  for _ in 1 2 3; do "$DOCKER28" image prune -f >/dev/null 2>&1 || true; done
  "$DOCKER28" builder prune -af >/dev/null 2>&1 || true
  DOCKER_BUILDKIT=1 "$DOCKER20" builder prune -af >/dev/null 2>&1 || true
}

# BuildKit through the 20.10 client may not work against this dockerd (no bridge network): probe.
export DOCKER_HOST=unix://${SOCK[dockerd]}
if ! build_cmd buildkit-dockerd >"$T/buildkit-probe.log" 2>&1; then
  say "BuildKit case skipped: $(tail -3 "$T/buildkit-probe.log" | tr '\n' ' ')"
  CASES=(classic-dockerd classic-berthd berth-cli)
fi
reset_cache
unset DOCKER_HOST

now() { date +%s.%N; }
declare -A COLD NOCHANGE ONEFILE
for c in "${CASES[@]}"; do COLD[$c]=""; NOCHANGE[$c]=""; ONEFILE[$c]=""; done
for i in $(seq 1 "$N"); do
  # rotate the order each iteration
  order=("${CASES[@]:$((i % ${#CASES[@]}))}" "${CASES[@]:0:$((i % ${#CASES[@]}))}")
  for c in "${order[@]}"; do
    export DOCKER_HOST=unix://${SOCK[${DAEMON[$c]}]}
    printf 'file 1\n' >"$ctx/src/d1/f1.txt"
    reset_cache
    t0=$(now); build_cmd "$c" >/dev/null 2>>"$T/build.err" || die "$c cold build failed: $(tail -5 "$T/build.err")"; t1=$(now)
    build_cmd "$c" >/dev/null 2>>"$T/build.err" || die "$c rebuild failed: $(tail -5 "$T/build.err")"; t2=$(now)
    printf 'file 1 changed %s %s\n' "$i" "$c" >"$ctx/src/d1/f1.txt"
    t3=$(now); build_cmd "$c" >/dev/null 2>>"$T/build.err" || die "$c one-file rebuild failed: $(tail -5 "$T/build.err")"; t4=$(now)
    COLD[$c]+="$(echo "$t1 - $t0" | bc) "
    NOCHANGE[$c]+="$(echo "$t2 - $t1" | bc) "
    ONEFILE[$c]+="$(echo "$t4 - $t3" | bc) "
  done
  say "iteration $i/$N done"
done
unset DOCKER_HOST

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -A M
printf '\n| case | cold | no-change | one-file |\n| --- | ---: | ---: | ---: |\n'
for c in "${CASES[@]}"; do
  M[$c.cold]=$(echo "${COLD[$c]}" | median)
  M[$c.nochange]=$(echo "${NOCHANGE[$c]}" | median)
  M[$c.onefile]=$(echo "${ONEFILE[$c]}" | median)
  printf '| %s | %.2f s | %.2f s | %.2f s |\n' "$c" "${M[$c.cold]}" "${M[$c.nochange]}" "${M[$c.onefile]}"
done
printf '\n| ratio of medians | cold | no-change | one-file |\n| --- | ---: | ---: | ---: |\n'
for base in classic-dockerd buildkit-dockerd; do
  [ -n "${M[$base.cold]:-}" ] || continue
  for c in classic-berthd berth-cli; do
    printf '| %s / %s | %.2fx | %.2fx | %.2fx |\n' "$c" "$base" \
      "$(echo "${M[$c.cold]} / ${M[$base.cold]}" | bc -l)" \
      "$(echo "${M[$c.nochange]} / ${M[$base.nochange]}" | bc -l)" \
      "$(echo "${M[$c.onefile]} / ${M[$base.onefile]}" | bc -l)"
  done
done
mkdir -p "$here/results"
{
  printf '{"n":%s,"files":%s,"bigMB":%s,"cases":{' "$N" "$FILES" "$BIG_MB"
  sep=""
  for c in "${CASES[@]}"; do
    printf '%s"%s":{"cold":"%s","nochange":"%s","onefile":"%s"}' "$sep" "$c" "${COLD[$c]}" "${NOCHANGE[$c]}" "${ONEFILE[$c]}"
    sep=","
  done
  printf '}}\n'
} >"$here/results/build-$(date -u +%Y-%m-%dT%H-%M-%SZ).json"
