#!/bin/sh
# Installs the Debian packages a make target needs, only when missing, so
# that `make run` and `make test` work on a fresh machine with nothing done
# before. Usage: scripts/deps.sh build|run|test|bench
set -eu

build="clang llvm make gcc pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libjson-c-dev libyaml-dev libmicrohttpd-dev libsystemd-dev libncurses-dev libvirt-dev"
run="$build"
test="$build libcmocka-dev libclang-rt-14-dev python3 qemu-system-x86 qemu-utils stress-ng libvirt-daemon-system libvirt-clients prometheus apache2-utils debootstrap cpio fio tmux gnutls-bin"
bench="$build stress-ng bpftrace qemu-system-x86 python3 curl fio"

case "${1:-}" in
build) want=$build ;;
run) want=$run ;;
test) want=$test ;;
bench) want=$bench ;;
*) echo "usage: $0 build|run|test|bench" >&2; exit 2 ;;
esac

missing=""
for pkg in $want; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "kvmwarden: missing Debian packages:$missing (run as root or install them)" >&2
	exit 1
fi
echo "kvmwarden: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# libvirt's postinst would start daemons; tests start libvirtd themselves.
apt-get install -y -qq --no-install-recommends $missing >/dev/null
