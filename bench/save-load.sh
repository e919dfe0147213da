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

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
N=${BENCH_N:-5}
IMAGE=${BENCH_IMAGE:-python}

say() { printf '%s save-load: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it starts dockerd and berthd)"
for tool in dockerd docker node runc conmon; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

T=$(mktemp -d /tmp/berth-bench-sl.XXXXXX)
chmod 711 "$T"
CGROUP_PARENT=$(basename "$T")
BERTH_BRIDGE="bsl$(printf '%s' "$T" | sha256sum | cut -c1-8)"
dockerd_pid="" containerd_pid="" berthd_pid=""

stop_pid() { # stop_pid PID NAME: SIGTERM, wait up to 20 s, then SIGKILL
  local pid=$1 name=$2 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_pid "$dockerd_pid" dockerd
  stop_pid "$containerd_pid" "dockerd's containerd"
  stop_pid "$berthd_pid" berthd
  awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  ip link del "$BERTH_BRIDGE" 2>/dev/null
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -F "berth:$BERTH_BRIDGE" | sed 's/^-A //' | while read -r rule; do
      eval "iptables -t $table -D $rule" 2>/dev/null
    done
  done
  for m in /sys/fs/cgroup/*/"$CGROUP_PARENT"; do [ -d "$m" ] && rmdir "$m" 2>/dev/null; done
  if [ "${BENCH_KEEP:-}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
  say "building berthd and berth"
  (cd "$repo/apps/daemon" && npx tsup >/dev/null)
  (cd "$repo/apps/cli" && npx tsup >/dev/null)
fi

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
mkdir -p "$T/dd-data" "$T/dd-exec"
printf '{"deprecated-key-path": "%s"}\n' "$T/dd-key.json" >"$T/daemon.json"
say "starting dockerd ($(dockerd --version))"
dockerd --config-file "$T/daemon.json" --data-root "$T/dd-data" --exec-root "$T/dd-exec" \
  --pidfile "$T/dockerd.pid" -H "unix://$T/docker.sock" \
  --containerd-namespace "$CGROUP_PARENT" --containerd-plugins-namespace "$CGROUP_PARENT-plugins" \
  --bridge none --iptables=false --ip-forward=false --ip-masq=false --cgroup-parent "/$CGROUP_PARENT" \
  >"$T/dockerd.log" 2>&1 &
dockerd_pid=$!
for i in $(seq 1 300); do
  [ -S "$T/docker.sock" ] && DOCKER_HOST=unix://$T/docker.sock docker version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { tail -20 "$T/dockerd.log" >&2; die "dockerd exited"; }
  sleep 0.2
done
cpid=$(cat "$T/dd-exec/containerd/containerd.pid" 2>/dev/null || true)
if [ -n "$cpid" ] && tr '\0' ' ' <"/proc/$cpid/cmdline" 2>/dev/null | grep -qF "$T/dd-exec/containerd/"; then
  containerd_pid=$cpid
fi

# --- our own berthd ---
mkdir -p "$T/b-data" "$T/b"
say "starting berthd"
node "$repo/apps/daemon/bin/berthd.js" --data-root "$T/b-data" --exec-root "$T/b" \
  --bridge "$BERTH_BRIDGE" --bip 10.253.251.1/24 --default-address-pool "base=10.253.0.0/16,size=24" \
  >"$T/berthd.log" 2>&1 &
berthd_pid=$!
for i in $(seq 1 150); do
  [ -S "$T/b/berth.sock" ] && DOCKER_HOST=unix://$T/b/berth.sock docker version >/dev/null 2>&1 && break
  kill -0 "$berthd_pid" 2>/dev/null || { tail -20 "$T/berthd.log" >&2; die "berthd exited"; }
  sleep 0.1
done

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
