#!/bin/sh
# Installs the Debian packages a make target needs, only when missing, so
# that `make run`, `make test` and `make deb` work on a fresh machine with
# nothing done before. `check SET` installs nothing: it names what is
# missing and the command that installs it, in one line (the Makefile runs
# it before compiling), and exits 1 then.
# Usage: scripts/deps.sh build|run|test|bench|deb
#        scripts/deps.sh check build|run|test|bench|deb
set -eu

# Every set was checked against a `debootstrap --variant=minbase bookworm`
# root: what such a root lacks and a target calls is named here.
build="clang llvm make gcc pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libjson-c-dev libyaml-dev libmicrohttpd-dev libsystemd-dev libncurses-dev libvirt-dev"
run="$build"
# Beyond the libraries and guests: xz-utils and zstd unpack the nested
# test's kernel modules (.ko.xz, .ko.zst); systemd gives systemd-analyze
# (the unit's verify) and man-db the man page check it makes; debhelper
# and lintian build and check the package test_systemd.sh installs;
# gnutls-bin's gnutls-cli can be held to TLS 1.1 (test_http.c).
# build-essential: dpkg-buildpackage refuses to build the package
# test_systemd.sh installs without it (dpkg-checkbuilddeps).
# openssl makes test_http.c's certificate and curl fetches over it (a
# minbase root has neither: tls_serves_https skipped there without them).
# bpftrace is test_hidden_steal.py's independent measure of softirq time;
# iproute2 its veth pair and network namespace.
test="$build build-essential libcmocka-dev libclang-rt-14-dev python3 qemu-system-x86 qemu-utils stress-ng libvirt-daemon-system libvirt-clients prometheus apache2-utils debootstrap cpio fio tmux xz-utils zstd systemd man-db debhelper lintian gnutls-bin openssl curl bpftrace iproute2"
# procps: pgrep and sysctl in the benchmarks; iproute2: the interrupt
# bench's veth pair and namespace.
bench="$build stress-ng bpftrace qemu-system-x86 python3 curl fio procps iproute2"
# dpkg-buildpackage comes with debhelper (dpkg-dev); debian/control's
# Build-Depends are the build set and cmocka (the unit tests run at build
# time); lintian checks the result.
deb="$build build-essential debhelper lintian libcmocka-dev"

check=no
if [ "${1:-}" = check ]; then
	check=yes
	shift
fi
case "${1:-}" in
build) want=$build ;;
run) want=$run ;;
test) want=$test ;;
bench) want=$bench ;;
deb) want=$deb ;;
*)
	echo "usage: $0 [check] build|run|test|bench|deb" >&2
	exit 2
	;;
esac

# Not a Debian system: nothing to ask, and nothing to say; the compiler's
# own errors will name what is missing.
if ! command -v dpkg-query >/dev/null 2>&1; then
	[ "$check" = yes ] && exit 0
	echo "kvmwarden: no dpkg-query: install these by hand: $want" >&2
	exit 1
fi

# One dpkg-query for the whole set. Packages dpkg has never heard of are
# left out of its output (and named on its stderr), so missing is what
# the output does not call installed.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $want 2>/dev/null |
	awk '$2 == "installed" { print $1 }' || true)
missing=""
for pkg in $want; do
	case " $(echo $installed) " in
	*" $pkg "*) ;;
	*) missing="$missing $pkg" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$check" = yes ]; then
	# root on a minimal Debian has no sudo, and needs none.
	sudo="sudo "
	[ "$(id -u)" = 0 ] && sudo=""
	echo "kvmwarden: missing Debian packages:$missing; install them with: ${sudo}apt-get install$missing (or make deps as root)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "kvmwarden: missing Debian packages:$missing (run as root or install them: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "kvmwarden: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# libvirt's postinst would start daemons; tests start libvirtd themselves.
apt-get install -y -qq --no-install-recommends $missing >/dev/null
