#!/usr/bin/env bash
# Benchmark: `docker save -o` and `docker load -i` of the same image on berthd and on a private
# reference dockerd, with the same docker CLI as the client of both, and `podman save -o` /
# `podman load -i` (docker-archive, podman's default) of the same image in a private podman
# store, all three interleaved in the same iterations.
#
# usage: bench/save-load.sh          (as root)
# env:   BENCH_N=5                   timed iterations per case
#        BENCH_IMAGE=python          python (the ~130 MB debootstrap base of test-fixtures/python,
#                                    made once, about a minute) or busybox (2 MB)
#        BENCH_PODMAN=0              leave podman out (it is installed with apt-get if missing;
#                                    if that fails the column is skipped with a line saying why)
#        BENCH_SKIP_BUILD=1          use the existing apps/*/dist builds
#        BENCH_KEEP=1                keep the temp dir (logs, archives) after cleanup
#
# Everything it starts lives under one mktemp dir and is stopped by PID at exit: its own dockerd
# (no default bridge, no iptables rules, its own containerd namespace and cgroup parent), its
# own berthd (its own bridge name and subnet) and podman's store ($T/p: root, runroot, tmpdir,
# network config; cgroupfs, file events; each podman command in its own mount namespace so the
# containers/image caches under /var land in $T/p too). It never touches the system docker
# service or /var/lib/containers/storage.
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

# --- podman's private store ---
podman_init
TOOLS=(dockerd berth)
[ "$HAVE_PODMAN" = 1 ] && TOOLS+=(podman)

declare -A SOCK=([dockerd]="$T/docker.sock" [berth]="$T/b/berth.sock")
for d in dockerd berth; do
  DOCKER_HOST=unix://${SOCK[$d]} docker import --change 'CMD ["sh"]' "$rootfs" bench:img >/dev/null
done
[ "$HAVE_PODMAN" = 1 ] && pm import -q --change 'CMD ["sh"]' "$rootfs" localhost/bench:img >/dev/null

now() { date +%s.%N; }
# save_one TOOL / load_one TOOL: one `save -o $T/TOOL.tar` / one `load -i` of bench:img
save_one() {
  if [ "$1" = podman ]; then pm save -q -o "$T/$1.tar" localhost/bench:img; else
    DOCKER_HOST=unix://${SOCK[$1]} docker save -o "$T/$1.tar" bench:img; fi
}
rmi_one() {
  if [ "$1" = podman ]; then pm rmi localhost/bench:img >/dev/null; else
    DOCKER_HOST=unix://${SOCK[$1]} docker rmi bench:img >/dev/null; fi
}
# create_one TOOL: `create --network none bench:img` (berth unpacks the image's layers here, at the
# first container; dockerd and podman unpacked them in load); rm_one removes that container
create_one() {
  if [ "$1" = podman ]; then pm create -q --network none --name bench-c localhost/bench:img >/dev/null; else
    DOCKER_HOST=unix://${SOCK[$1]} docker create --network none --name bench-c bench:img >/dev/null; fi
}
rm_one() {
  if [ "$1" = podman ]; then pm rm bench-c >/dev/null; else
    DOCKER_HOST=unix://${SOCK[$1]} docker rm bench-c >/dev/null; fi
}
load_one() {
  if [ "$1" = podman ]; then pm load -q -i "$T/$1.tar" >/dev/null; else
    DOCKER_HOST=unix://${SOCK[$1]} docker load -q -i "$T/$1.tar" >/dev/null; fi
}
declare -A SAVE LOAD CREATE SIZE
for d in "${TOOLS[@]}"; do SAVE[$d]=""; LOAD[$d]=""; CREATE[$d]=""; SIZE[$d]=0; done
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$N"); do
  for d in "${TOOLS[@]}"; do
    rm -f "$T/$d.tar"
    t0=$(now); save_one "$d"; t1=$(now)
    SIZE[$d]=$(stat -c %s "$T/$d.tar")
    rmi_one "$d"
    t2=$(now); load_one "$d"; t3=$(now)
    t4=$(now); create_one "$d"; t5=$(now)
    rm_one "$d"
    SAVE[$d]+="$(echo "$t1 - $t0" | bc) "
    LOAD[$d]+="$(echo "$t3 - $t2" | bc) "
    CREATE[$d]+="$(echo "$t5 - $t4" | bc) "
  done
  say "iteration $i/$N done"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# "load + create": the medians of load and of the first create after it, summed (the image usable
# as a container's root file system on every tool).
declare -A SAVE_MBS LOAD_MBS LC_MBS
printf '\n| tool | archive | save median | save MB/s | load median | load MB/s | first create | load + create MB/s |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for d in "${TOOLS[@]}"; do
  s=$(echo "${SAVE[$d]}" | median); l=$(echo "${LOAD[$d]}" | median); c=$(echo "${CREATE[$d]}" | median)
  SAVE_MBS[$d]=$(echo "${SIZE[$d]} / 1000000 / $s" | bc -l); LOAD_MBS[$d]=$(echo "${SIZE[$d]} / 1000000 / $l" | bc -l)
  LC_MBS[$d]=$(echo "${SIZE[$d]} / 1000000 / ($l + $c)" | bc -l)
  printf '| %s | %.1f MB | %.3f s | %.0f | %.3f s | %.0f | %.3f s | %.0f |\n' "$d" "$(echo "${SIZE[$d]} / 1000000" | bc -l)" "$s" \
    "${SAVE_MBS[$d]}" "$l" "${LOAD_MBS[$d]}" "$c" "${LC_MBS[$d]}"
done
for d in "${TOOLS[@]}"; do
  [ "$d" = berth ] && continue
  printf '| berth / %s (throughput) | | | %.2fx | | %.2fx | | %.2fx |\n' "$d" \
    "$(echo "${SAVE_MBS[berth]} / ${SAVE_MBS[$d]}" | bc -l)" "$(echo "${LOAD_MBS[berth]} / ${LOAD_MBS[$d]}" | bc -l)" \
    "$(echo "${LC_MBS[berth]} / ${LC_MBS[$d]}" | bc -l)"
done
printf '\nload average: at start %s, at end %s\n' "$loadavg_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$here/results"
json() { # json NAME: {"dockerd":"...","berth":"...",...} from the array named NAME
  local -n arr=$1
  local d sep="" out="{"
  for d in "${TOOLS[@]}"; do out+="$sep\"$d\":\"${arr[$d]}\""; sep=","; done
  printf '%s}' "$out"
}
printf '{"image":"%s","n":%s,"bytes":%s,"save":%s,"load":%s,"create":%s,"loadavgStart":"%s","loadavgEnd":"%s"}\n' \
  "$IMAGE" "$N" "$(json SIZE)" "$(json SAVE)" "$(json LOAD)" "$(json CREATE)" "$loadavg_start" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  >"$here/results/save-load-$(date -u +%Y-%m-%dT%H-%M-%SZ).json"
