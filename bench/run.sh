#!/usr/bin/env bash
# Benchmark: `run --rm busybox true` on berthd against a private reference dockerd, interleaved.
#
# usage: bench/run.sh            (as root; see bench/README.md)
# env:   BENCH_N=20              timed iterations per case
#        BENCH_WARMUP=3          untimed runs per case before timing
#        BENCH_SLEEPERS=5        detached `sleep 1000` containers per daemon for the memory check
#        BENCH_SKIP_BUILD=1      use the existing apps/*/dist builds
#        BENCH_KEEP=1            keep the temp dir (logs) after cleanup
#        BENCH_DOCKER=docker     the docker CLI binary to use as a client of both daemons
#        BENCH_SUITES="run services"  which parts to run: run (run --rm latency, memory; bench.mjs),
#                                services (published-port throughput, 50 starts, ps; services.mjs),
#                                compose (10-service up -d + down against docker-compose; compose.mjs)
#
# Everything it starts lives under one mktemp dir and is stopped by PID at exit: its own dockerd
# (with the managed containerd it spawns, on private paths), its own berthd, their containers,
# shims and conmons, mounts under the temp dir, and one private bridge for dockerd's default
# network. It never enables, starts or stops the system docker service and never pulls images.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
N=${BENCH_N:-20}
WARMUP=${BENCH_WARMUP:-3}
SLEEPERS=${BENCH_SLEEPERS:-5}
DOCKER=${BENCH_DOCKER:-docker}

say() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it starts dockerd and berthd)"
for tool in runc conmon ip node; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
command -v "$DOCKER" >/dev/null || die "no docker CLI ($DOCKER) on PATH"
command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y curl >&2

# --- reference dockerd: Debian's docker.io, installed if missing, never started as a service ---
if ! command -v dockerd >/dev/null; then
  say "dockerd missing: apt-get install -y docker.io (the system service is not enabled or started here)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io >&2
fi

# --- host paths dockerd/containerd create outside their roots; removed at exit only if we made them ---
host_paths=(/etc/docker/key.json /run/docker/plugins /run/docker /run/containerd/s /run/containerd)
declare -A host_existed=()
for p in "${host_paths[@]}"; do [ -e "$p" ] && host_existed[$p]=1; done

T=$(mktemp -d /tmp/berth-bench.XXXXXX)
chmod 711 "$T"
BRIDGE=berthbench0
BERTH_BRIDGE=berthbench1
# dockerd's containers go under a cgroup named after our temp dir, removed at exit.
CGROUP_PARENT=$(basename "$T")
bridge_created=0
dockerd_pid="" containerd_pid="" berthd_pid=""

# pids_under lists processes whose command line mentions our temp dir: only processes we (or our
# daemons) started can name it, so these are ours to stop.
pids_under() {
  local d pid
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ "$pid" = $$ ] && continue
    if tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$T/"; then echo "$pid"; fi
  done
}

stop_pid() { # stop_pid PID NAME: SIGTERM, wait up to 20 s, then SIGKILL
  local pid=$1 name=$2 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "$name (pid $pid) ignored SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? ids pid m p
  trap - EXIT INT TERM
  set +e
  say "cleaning up"
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    ids=$(DOCKER_HOST=unix://$T/docker.sock "$DOCKER" ps -aq 2>/dev/null)
    [ -n "$ids" ] && DOCKER_HOST=unix://$T/docker.sock "$DOCKER" rm -f $ids >/dev/null 2>&1
  fi
  if [ -n "$berthd_pid" ] && kill -0 "$berthd_pid" 2>/dev/null; then
    ids=$(DOCKER_HOST=unix://$T/b/berth.sock "$DOCKER" ps -aq 2>/dev/null)
    [ -n "$ids" ] && DOCKER_HOST=unix://$T/b/berth.sock "$DOCKER" rm -f $ids >/dev/null 2>&1
  fi
  stop_pid "$dockerd_pid" dockerd
  stop_pid "$containerd_pid" "dockerd's containerd"
  stop_pid "$berthd_pid" berthd
  # Leftovers (shims, conmons, container processes) that name our temp dir.
  for pid in $(pids_under); do
    say "leftover process $pid: $(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null | cut -c1-120)"
    kill -KILL "$pid" 2>/dev/null
  done
  # Mounts under the temp dir, deepest first.
  awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  [ "$bridge_created" = 1 ] && ip link del "$BRIDGE" 2>/dev/null
  # berthd's default bridge and the iptables rules it tagged for it.
  ip link del "$BERTH_BRIDGE" 2>/dev/null
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -F "berth:$BERTH_BRIDGE" | sed 's/^-A //' | while read -r rule; do
      eval "iptables -t $table -D $rule" 2>/dev/null
    done
  done
  for m in /sys/fs/cgroup/*/"$CGROUP_PARENT"; do [ -d "$m" ] && rmdir "$m" 2>/dev/null; done
  for p in "${host_paths[@]}"; do
    [ -n "${host_existed[$p]:-}" ] && continue
    if [ -f "$p" ]; then rm -f "$p"; elif [ -d "$p" ]; then rmdir "$p" 2>/dev/null; fi
  done
  if [ "${BENCH_KEEP:-}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build berth ---
if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
  say "building berthd and berth"
  (cd "$repo/apps/daemon" && npx tsup >/dev/null)
  (cd "$repo/apps/cli" && npx tsup >/dev/null)
fi
[ -f "$repo/apps/daemon/dist/berthd.js" ] && [ -f "$repo/apps/cli/dist/berth.js" ] || die "berth is not built"

# --- a private bridge for dockerd's default network (no docker0, no iptables rules) ---
ip link show "$BRIDGE" >/dev/null 2>&1 && die "bridge $BRIDGE exists already (a previous run's? delete it: ip link del $BRIDGE)"
subnet=""
for third in 250 251 252 253; do
  if ! ip -4 addr | grep -q "inet 172\.31\.$third\."; then subnet=172.31.$third; break; fi
done
[ -n "$subnet" ] || die "no free 172.31.25x.0/24 subnet for the bench bridge"
ip link add "$BRIDGE" type bridge
bridge_created=1
ip addr add "$subnet.1/24" dev "$BRIDGE"
ip link set "$BRIDGE" up

# --- our own dockerd, with its managed containerd on private paths ---
mkdir -p "$T/dd-data" "$T/dd-exec"
printf '{"deprecated-key-path": "%s"}\n' "$T/dd-key.json" >"$T/daemon.json"
say "starting dockerd ($(dockerd --version))"
dockerd --config-file "$T/daemon.json" \
  --data-root "$T/dd-data" --exec-root "$T/dd-exec" --pidfile "$T/dockerd.pid" \
  -H "unix://$T/docker.sock" \
  --containerd-namespace berthbench --containerd-plugins-namespace berthbench-plugins \
  --bridge "$BRIDGE" --iptables=false --ip-forward=false --ip-masq=false \
  --cgroup-parent "/$CGROUP_PARENT" \
  >"$T/dockerd.log" 2>&1 &
dockerd_pid=$!
for i in $(seq 1 150); do
  [ -S "$T/docker.sock" ] && DOCKER_HOST=unix://$T/docker.sock "$DOCKER" version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { tail -20 "$T/dockerd.log" >&2; die "dockerd exited"; }
  sleep 0.2
done
cpid=$(cat "$T/dd-exec/containerd/containerd.pid" 2>/dev/null || true)
if [ -n "$cpid" ] && tr '\0' ' ' <"/proc/$cpid/cmdline" 2>/dev/null | grep -qF "$T/dd-exec/containerd/"; then
  containerd_pid=$cpid
else
  die "cannot find the containerd that dockerd started (expected its pid in $T/dd-exec/containerd/containerd.pid)"
fi
say "dockerd pid $dockerd_pid, its containerd pid $containerd_pid"

# --- our own berthd ---
mkdir -p "$T/b-data" "$T/b"
say "starting berthd"
ip link show "$BERTH_BRIDGE" >/dev/null 2>&1 && die "bridge $BERTH_BRIDGE exists already (a previous run's? delete it: ip link del $BERTH_BRIDGE)"
node "$repo/apps/daemon/bin/berthd.js" --data-root "$T/b-data" --exec-root "$T/b" \
  --bridge "$BERTH_BRIDGE" --bip 10.252.250.1/24 --default-address-pool "base=10.251.0.0/16,size=24" \
  >"$T/berthd.log" 2>&1 &
berthd_pid=$!
for i in $(seq 1 150); do
  [ -S "$T/b/berth.sock" ] && DOCKER_HOST=unix://$T/b/berth.sock "$DOCKER" version >/dev/null 2>&1 && break
  kill -0 "$berthd_pid" 2>/dev/null || { tail -20 "$T/berthd.log" >&2; die "berthd exited"; }
  sleep 0.1
done
say "berthd pid $berthd_pid"

# --- the same busybox tarball into both ---
"$repo/test-fixtures/busybox/make-rootfs.sh" "$T/busybox.tar"
for sock in "$T/docker.sock" "$T/b/berth.sock"; do
  DOCKER_HOST=unix://$sock "$DOCKER" import --change 'CMD ["sh"]' "$T/busybox.tar" busybox:latest >/dev/null
done

# --- the floor: a prepared runc bundle; each timed run mounts a fresh overlay, runs, unmounts ---
mkdir -p "$T/floor/lower" "$T/floor/bundle/rootfs" "$T/floor/runc"
tar -xf "$T/busybox.tar" -C "$T/floor/lower"
(cd "$T/floor/bundle" && runc spec)
node -e '
  const fs = require("node:fs"); const f = process.argv[1];
  const s = JSON.parse(fs.readFileSync(f, "utf8"));
  s.process.terminal = false; s.process.args = ["true"]; s.root = { path: "rootfs", readonly: false };
  fs.writeFileSync(f, JSON.stringify(s, null, 2));' "$T/floor/bundle/config.json"
cat >"$T/floor/run.sh" <<EOF
#!/bin/sh
set -e
f=$T/floor
rm -rf \$f/upper \$f/work && mkdir \$f/upper \$f/work
mount -t overlay overlay -o lowerdir=\$f/lower,upperdir=\$f/upper,workdir=\$f/work \$f/bundle/rootfs
runc --root \$f/runc run --bundle \$f/bundle bench-floor-\$\$ </dev/null
umount \$f/bundle/rootfs
EOF
chmod +x "$T/floor/run.sh"

# --- measure ---
mkdir -p "$here/results"
export BENCH_TMP=$T BENCH_N=$N BENCH_WARMUP=$WARMUP BENCH_SLEEPERS=$SLEEPERS BENCH_DOCKER=$DOCKER \
  BENCH_REPO=$repo BENCH_DOCKERD_PID=$dockerd_pid BENCH_CONTAINERD_PID=$containerd_pid \
  BENCH_BERTHD_PID=$berthd_pid BENCH_BRIDGE=$BRIDGE
SUITES=${BENCH_SUITES:-run services}
case " $SUITES " in *" run "*) node "$here/bench.mjs" ;; esac
case " $SUITES " in *" services "*) node "$here/services.mjs" ;; esac
case " $SUITES " in *" compose "*) node "$here/compose.mjs" ;; esac
