#!/usr/bin/env bash
# Makes the `busybox:latest` base image (or the tag given) in the engine that the
# `berth` CLI (or $BERTH) talks to, from Debian's busybox-static package.
#
# usage: make-image.sh [TAG] ; env BERTH=path/to/berth overrides the CLI
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=${1:-busybox:latest}
berth=${BERTH:-berth}
cache=$here/../.cache
mkdir -p "$cache"
tarball=$cache/busybox-rootfs-v2.tar
if [ ! -s "$tarball" ]; then
  "$here/make-rootfs.sh" "$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
fi
$berth import --change 'CMD ["sh"]' "$tarball" "$tag"
