#!/usr/bin/env bash
# Benchmark: `docker save -o` and `docker load -i` of the same image on berthd and on a private
# reference dockerd, interleaved, with the same docker CLI as the client of both.
#
# usage: bench/save-load.sh          (as root)
# env:   BENCH_N=5                   timed iterations per case
#        BENCH_IMAGE=python          python (the ~130 MB debootstrap base of test-fixtures/python,
#                                    made once, about a minute) or busybox (2 MB)
#        BENCH_SKIP_BUILD=1          use the existing apps/*/dist builds
#        BENCH_KEEP=1                keep the temp dir (logs, archives) after cleanup
#
# Everything it starts lives under one mktemp dir and is stopped by PID at exit: its own dockerd
# (no default bridge, no iptables rules, its own containerd namespace and cgroup parent) and its
# own berthd (its own bridge name and subnet). It never touches the system docker service.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${BENCH_N:-5}
IMAGE=${BENCH_IMAGE:-python}

bench_init save-load bc

bench_build

# --- the image's root file system, the same tarball for both daemons ---
case "$IMAGE" in
  python)
    key=$(sha256sum <"$repo/test-fixtures/python/make-rootfs.sh" | cut -c1-16)
    rootfs=$repo/test-fixtures/.cache/python3-rootfs-$key.tar
    if [ ! -s "$rootfs" ]; then
      say "making the python base root file system (debootstrap, about a minute)"
      mkdir -p "$(dirname "$rootfs")"
      "$repo/test-fixtures/python/make-rootfs.sh" "$rootfs.tmp" && mv "$rootfs.tmp" "$rootfs"
    fi
    ;;
  busybox)
    rootfs=$T/busybox.tar
    "$repo/test-fixtures/busybox/make-rootfs.sh" "$rootfs"
    ;;
  *) die "BENCH_IMAGE must be python or busybox" ;;
esac

# --- our own dockerd ---
start_dockerd

# --- our own berthd ---
start_berthd 10.253.251.1/24 10.253.0.0/16

declare -A SOCK=([dockerd]="$T/docker.sock" [berth]="$T/b/berth.sock")
for d in dockerd berth; do
  DOCKER_HOST=unix://${SOCK[$d]} docker import --change 'CMD ["sh"]' "$rootfs" bench:img >/dev/null
done

now() { date +%s.%N; }
declare -A SAVE LOAD
for d in dockerd berth; do SAVE[$d]=""; LOAD[$d]=""; done
size=0
for i in $(seq 1 "$N"); do
  for d in dockerd berth; do
    export DOCKER_HOST=unix://${SOCK[$d]}
    rm -f "$T/$d.tar"
    t0=$(now); docker save -o "$T/$d.tar" bench:img; t1=$(now)
    size=$(stat -c %s "$T/$d.tar")
    docker rmi bench:img >/dev/null
    t2=$(now); docker load -q -i "$T/$d.tar" >/dev/null; t3=$(now)
    SAVE[$d]+="$(echo "$t1 - $t0" | bc) "
    LOAD[$d]+="$(echo "$t3 - $t2" | bc) "
  done
  say "iteration $i/$N done"
done
unset DOCKER_HOST

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '\n| daemon | archive | save median | save MB/s | load median | load MB/s |\n| --- | --- | --- | --- | --- | --- |\n'
for d in dockerd berth; do
  s=$(echo "${SAVE[$d]}" | median); l=$(echo "${LOAD[$d]}" | median)
  printf '| %s | %.1f MB | %.3f s | %.0f | %.3f s | %.0f |\n' "$d" "$(echo "$size / 1000000" | bc -l)" "$s" \
    "$(echo "$size / 1000000 / $s" | bc -l)" "$l" "$(echo "$size / 1000000 / $l" | bc -l)"
done
mkdir -p "$here/results"
printf '{"image":"%s","n":%s,"bytes":%s,"save":{"dockerd":"%s","berth":"%s"},"load":{"dockerd":"%s","berth":"%s"}}\n' \
  "$IMAGE" "$N" "$size" "${SAVE[dockerd]}" "${SAVE[berth]}" "${LOAD[dockerd]}" "${LOAD[berth]}" \
  >"$here/results/save-load-$(date -u +%Y-%m-%dT%H-%M-%SZ).json"
