#!/usr/bin/env bash
# Makes a Python 3 root file system tarball from Debian bookworm with debootstrap (minbase, python3,
# python3-pip), shaped like docker's python:3-slim: pip may install into the system Python (no
# EXTERNALLY-MANAGED marker, as docker's python images have none), no apt lists or caches.
#
# usage: make-rootfs.sh OUT.tar ; env MIRROR overrides http://deb.debian.org/debian
set -euo pipefail
out=${1:?usage: make-rootfs.sh OUT.tar}
mirror=${MIRROR:-http://deb.debian.org/debian}
if ! command -v debootstrap >/dev/null; then
  echo "debootstrap is not installed: apt-get install -y debootstrap" >&2
  exit 1
fi
work=$(mktemp -d)
cleanup() {
  # debootstrap mounts proc and sys inside the target while it runs; never leave them behind.
  for m in "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev/pts"; do
    mountpoint -q "$m" 2>/dev/null && umount -l "$m"
  done
  rm -rf "$work"
}
trap cleanup EXIT
root=$work/rootfs
debootstrap --variant=minbase --include=python3,python3-pip bookworm "$root" "$mirror" >&2
rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
# `python` as docker's images have it (CMD ["python", "app.py"]).
[ -e "$root/usr/bin/python" ] || ln -s python3 "$root/usr/bin/python"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/cache/apt/archives/partial/* "$root"/var/log/*.log "$root"/var/log/apt/* \
  "$root"/var/cache/debconf/*-old "$root"/root/.cache "$root"/tmp/*
# As Debian's slim images: no manuals, docs (copyrights stay) or translations.
find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
find "$root" -name __pycache__ -type d -prune -exec rm -rf {} +
# The target's /etc/resolv.conf and /etc/hostname are the build host's; the runtime supplies its own.
rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
: >"$root/etc/resolv.conf"
# Fixed mtimes and sorted names: the same packages give the same tar bytes, hence the same image ID.
find "$root" -exec touch -h -d @1700000000 {} +
tar --sort=name --numeric-owner --xattrs --mtime=@1700000000 -C "$root" -cf "$out" .
