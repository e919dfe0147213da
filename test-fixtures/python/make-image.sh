#!/usr/bin/env bash
# Makes the Python base image `berth-fixtures/python:3` (also tagged `python:3`) in the engine that
# the `berth` CLI (or $BERTH) talks to, from Debian bookworm's python3 and python3-pip through
# debootstrap. The first run takes a few minutes (it downloads the packages); the root file system
# tarball is cached under test-fixtures/.cache/, keyed by a hash of the scripts that make it, so
# later runs take seconds.
#
# usage: make-image.sh [TAG...] ; default tags: berth-fixtures/python:3 python:3
#        env BERTH=path/to/berth overrides the CLI
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=${BERTH:-berth}
if [ $# -gt 0 ]; then tags=("$@"); else tags=(berth-fixtures/python:3 python:3); fi
cache=$here/../.cache
mkdir -p "$cache"
key=$(cat "$here/make-rootfs.sh" | sha256sum | cut -c1-16)
tarball=$cache/python3-rootfs-$key.tar
if [ ! -s "$tarball" ]; then
  "$here/make-rootfs.sh" "$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
fi
$berth import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  "$tarball" "${tags[0]}"
for t in "${tags[@]:1}"; do
  $berth tag "${tags[0]}" "$t"
done
