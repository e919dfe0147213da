#!/usr/bin/env bash
# Makes a busybox root file system tarball from Debian's busybox-static package:
# the static binary, one symlink per applet (as `busybox --install -s` would),
# and the handful of files a container expects (/etc/passwd, /etc/group, /tmp).
#
# usage: make-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: make-rootfs.sh OUT.tar}
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  echo "busybox-static is not installed: apt-get install -y busybox-static" >&2
  exit 1
fi
bin=$(dpkg -L busybox-static | grep -E '^/(usr/)?bin/busybox$' | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,var,proc,sys,dev}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
install -m 0755 "$bin" "$root/bin/busybox"
"$bin" --list-full | while read -r applet; do
  [ "$applet" = "bin/busybox" ] && continue
  dir=$(dirname "$applet")
  # Relative links, so the tree is correct wherever it is unpacked (-s: never through the
  # host's own /bin -> usr/bin link, which would make usr/bin/x point at a missing usr/bin/busybox).
  rel=$(realpath -m -s --relative-to="/$dir" /bin/busybox)
  mkdir -p "$root/$dir"
  ln -sf "$rel" "$root/$applet"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
G
# Fixed mtimes and sorted names give the same tar bytes, hence the same image ID, on every run.
find "$root" -exec touch -h -d @1700000000 {} +
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@1700000000 -C "$root" -cf "$out" .
