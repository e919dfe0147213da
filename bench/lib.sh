# Shared by the bench scripts (source it): a private reference dockerd and a private berthd under
# one temp dir, both stopped by PID at exit, with their mounts, cgroups, bridge and rules removed.
# Nothing here touches the system docker service or another daemon's state.
#
#   bench_init NAME TOOL...   checks root and the tools, makes $T, installs the exit cleanup
#   bench_build               bundles berthd and berth unless BENCH_SKIP_BUILD=1
#   start_dockerd             dockerd on $T/docker.sock: no default bridge, no iptables rules,
#                             its own containerd namespace and cgroup parent
#   start_berthd BIP POOL     berthd on $T/b/berth.sock with its own bridge, --bip and pool
#   bench_on_exit CMD         one more thing for the cleanup to run first (e.g. stop a registry)
#   podman_init               a private podman store under $T/p (apt-get installs podman if it is
#                             missing; BENCH_PODMAN=0 skips it); sets HAVE_PODMAN to 1 or 0
#   pm ARGS...                podman on that store, in its own mount namespace (see in_private_ns)
#   in_private_ns CMD...      CMD with the host-wide caches of containers/image bound to $T/p dirs
# Variables: here, repo, T, CGROUP_PARENT, BERTH_BRIDGE, dockerd_pid, containerd_pid, berthd_pid,
# HAVE_PODMAN.

here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
repo=$(dirname "$here")
BENCH_NAME=bench
dockerd_pid="" containerd_pid="" berthd_pid="" bench_exit_hooks=()

say() { printf '%s %s: %s\n' "$(date +%H:%M:%S)" "$BENCH_NAME" "$*" >&2; }
die() { say "error: $*"; exit 1; }

stop_pid() { # stop_pid PID NAME: SIGTERM, wait up to 20 s, then SIGKILL
  local pid=$1 name=$2 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

bench_on_exit() { bench_exit_hooks+=("$1"); }

bench_cleanup() {
  local rc=$? hook
  trap - EXIT INT TERM
  set +e
  for hook in "${bench_exit_hooks[@]}"; do eval "$hook"; done
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

bench_init() { # bench_init NAME TOOL...
  BENCH_NAME=$1
  shift
  [ "$(id -u)" = 0 ] || die "needs root (it starts dockerd and berthd)"
  local tool
  for tool in dockerd docker node runc conmon "$@"; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
  T=$(mktemp -d "/tmp/berth-bench-$BENCH_NAME.XXXXXX")
  chmod 711 "$T"
  CGROUP_PARENT=$(basename "$T")
  BERTH_BRIDGE="bb$(printf '%s' "$T" | sha256sum | cut -c1-10)"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_build() {
  [ "${BENCH_SKIP_BUILD:-}" = 1 ] && return 0
  say "building berthd and berth"
  (cd "$repo/apps/daemon" && npx tsup >/dev/null)
  (cd "$repo/apps/cli" && npx tsup >/dev/null)
}

start_dockerd() {
  local i cpid
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
}

start_berthd() { # start_berthd BIP POOL
  local i
  mkdir -p "$T/b-data" "$T/b"
  say "starting berthd"
  node "$repo/apps/daemon/bin/berthd.js" --data-root "$T/b-data" --exec-root "$T/b" \
    --bridge "$BERTH_BRIDGE" --bip "$1" --default-address-pool "base=$2,size=24" \
    >"$T/berthd.log" 2>&1 &
  berthd_pid=$!
  for i in $(seq 1 150); do
    [ -S "$T/b/berth.sock" ] && DOCKER_HOST=unix://$T/b/berth.sock docker version >/dev/null 2>&1 && break
    kill -0 "$berthd_pid" 2>/dev/null || { tail -20 "$T/berthd.log" >&2; die "berthd exited"; }
    sleep 0.1
  done
}

podman_init() {
  HAVE_PODMAN=0
  if [ "${BENCH_PODMAN:-1}" = 0 ]; then
    say "podman column skipped: BENCH_PODMAN=0"
    return 0
  fi
  if ! command -v podman >/dev/null; then
    say "podman missing: apt-get install -y podman"
    DEBIAN_FRONTEND=noninteractive apt-get install -y podman >"$T/apt-podman.log" 2>&1 || true
  fi
  if ! command -v podman >/dev/null; then
    say "podman column skipped: podman is not installed and apt-get could not install it ($T/apt-podman.log)"
    return 0
  fi
  mkdir -p "$T"/p/root "$T"/p/run "$T"/p/tmp "$T"/p/net "$T"/p/vol "$T"/p/var-lib "$T"/p/var-cache "$T"/p/var-tmp
  say "private podman store in $T/p ($(podman --version))"
  HAVE_PODMAN=1
}

# podman and skopeo as root write outside any --root they are given: containers/image's blob
# info cache (/var/lib/containers/cache), the short-name alias cache (/var/cache/containers) and
# temporary copies (/var/tmp). In a mount namespace of its own (about 7 ms per command) those
# three are bound to dirs under $T/p, so nothing on the host is touched; the binds vanish with the
# namespace. (With no /var/lib/containers on the host, /var/lib itself is shadowed.)
in_private_ns() {
  unshare --mount --propagation private -- /bin/sh -c '
    set -e
    p=$1
    shift
    if [ -d /var/lib/containers ]; then mount --bind "$p/var-lib" /var/lib/containers; else mount --bind "$p/var-lib" /var/lib; fi
    mount --bind "$p/var-cache" /var/cache
    mount --bind "$p/var-tmp" /var/tmp
    exec "$@"' sh "$T/p" "$@"
}

# podman on the private store: its own root, runroot, tmpdir (events, locks), network config and
# volume dirs; cgroupfs, events in a file, the CNI backend (netavark would make /run/containers).
pm() {
  in_private_ns podman --root "$T/p/root" --runroot "$T/p/run" --tmpdir "$T/p/tmp" \
    --network-config-dir "$T/p/net" --network-backend cni --volumepath "$T/p/vol" \
    --storage-driver overlay --cgroup-manager cgroupfs --events-backend file "$@"
}
