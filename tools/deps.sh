#!/bin/sh
# Installs every Debian package glory needs. Idempotent: does nothing when all are present.
# Adds bookworm-backports for libraft-dev 0.22 (bookworm's 0.15 has known safety bugs).
set -eu

PKGS="build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
libisal-dev libssl-dev libxxhash-dev libuv1-dev librocksdb-dev libraft-dev
libcmocka-dev libfuse3-dev fuse3 libnfs-dev libnfs-utils libtirpc-dev rpcsvc-proto rpcbind nfs-common
libmicrohttpd-dev nbdkit nbdkit-plugin-dev libnbd-bin python3-libnbd qemu-utils fio libvirt-dev
libvirt-clients debootstrap
libs3-dev libs3-2 libcurl4-openssl-dev python3-pytest python3-boto3 awscli s3cmd rclone
curl openssl iproute2 procps psmisc xxd bc"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# libraft must be the 0.22 series from backports
if ! dpkg-query -W -f='${Version}' libraft-dev 2>/dev/null | grep -q '^0\.2'; then
	case "$missing" in *libraft-dev*) ;; *) missing="$missing libraft-dev" ;; esac
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "deps.sh: installing:$missing" >&2
bp=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$bp" ]; then
	cat >"$bp" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# libraft-dev and its runtime come from backports; everything else from bookworm
apt-get install -y -q -t bookworm-backports libraft-dev >&2
apt-get install -y -q --no-install-recommends $(echo "$missing" | sed 's/libraft-dev//') >&2
