# The nested harness's parts, shared by the tests that boot Linux under
# TCG (test_nested_kvm.sh, test_guest_net.py): Debian cloud kernels with
# their modules, static busybox, and a program's libraries for an
# initramfs, each downloaded once and cached under BUILD_DIR.
# Sourced, not run. The caller sets:
#   build_dir  the build directory (caches: BUILD_DIR/kernels/nested/,
#              BUILD_DIR/nested/)
#   work       a scratch directory of its own (downloads, download.log)
# and then calls kernel_dir SERIES, nested_busybox or copy_with_libs.
# Functions print what they made on stdout and return non-zero on failure,
# with apt's last words in $work/download.log.

# Where kernels come from. "system" is this machine's own apt sources
# (Debian 12: 6.1 and 6.12 as linux-image-VERSION-cloud-amd64-unsigned);
# "sid" is Debian's unstable suite, with the newest kernel, read through a
# private apt tree under BUILD_DIR/nested/apt-sid: its own sources list,
# lists and cache, and never the system's sources. Its archive is the one
# this machine's Debian sources name (apt itself says which: the Label
# "Debian" of the system's lists), so no mirror is written down here.
sid_dir=$build_dir/nested/apt-sid
# apt_for SOURCE COMMAND ARGS...: apt-get or apt-cache on that source.
apt_for() {
	local source=$1 command=$2
	shift 2
	if [ "$source" = system ]; then
		"$command" "$@"
	else
		"$command" -o Dir::Etc::SourceList="$sid_dir/sources.list" \
			-o Dir::Etc::SourceParts=/dev/null \
			-o Dir::State::Lists="$sid_dir/lists" \
			-o Dir::Cache="$sid_dir/cache" "$@"
	fi
}
# apt_update SOURCE: fresh lists for that source. For sid, the sources
# list is written first, from the system's Debian archive.
apt_update() {
	local url
	if [ "$1" = system ]; then
		apt-get update -qq >>"$work/download.log" 2>&1
		return
	fi
	url=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' \
		'Origin: Debian' 'Label: Debian' 2>/dev/null | head -n 1)
	if [ -z "$url" ]; then
		echo "no Debian archive in the system's apt lists" >>"$work/download.log"
		return 1
	fi
	# apt's sandbox user writes into lists/partial and archives/partial.
	mkdir -p "$sid_dir/lists/partial" "$sid_dir/cache/archives/partial"
	chmod 0755 "$build_dir/nested" "$sid_dir"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $url sid main" \
		>"$sid_dir/sources.list"
	apt_for sid apt-get update -qq >>"$work/download.log" 2>&1
}

# deb_extract SOURCE DIR PACKAGE...: downloads the packages from that
# source and unpacks them all in DIR, updating the source's lists once
# when the download fails (a version superseded since the last update).
deb_extract() {
	local source=$1 dir=$2 pkg
	shift 2
	for pkg in "$@"; do
		rm -f "$work/$pkg"_*.deb
	done
	if ! (cd "$work" && apt_for "$source" apt-get download -q "$@" >"$work/download.log" 2>&1); then
		apt_update "$source"
		(cd "$work" && apt_for "$source" apt-get download -q "$@" >>"$work/download.log" 2>&1) ||
			return 1
	fi
	mkdir -p "$dir" || return 1
	for pkg in "$@"; do
		dpkg-deb -x "$work/$pkg"_*.deb "$dir" && rm -f "$work/$pkg"_*.deb || return 1
	done
}

# nested_busybox: the path of a static busybox, downloaded once
# (busybox-static from the system's sources).
nested_busybox() {
	local busybox=$build_dir/nested/busybox
	if [ ! -x "$busybox" ]; then
		mkdir -p "$build_dir/nested"
		deb_extract system "$work/busybox" busybox-static || return 1
		cp "$work/busybox/bin/busybox" "$busybox" || return 1
	fi
	echo "$busybox"
}

# kernel_packages SOURCE SERIES: "VERSION SOURCE PACKAGE..." for each
# cloud kernel of that series in the source's lists, in one of two
# layouts. Debian 12: linux-image-VERSION-cloud-amd64-unsigned holds
# boot/vmlinuz-VERSION and the modules. sid (Linux 7.x):
# linux-image-VERSION-cloud-amd64 is a metapackage;
# linux-binary-VERSION-cloud-amd64 holds usr/lib/modules/VERSION/vmlinuz
# and linux-modules-VERSION-cloud-amd64 the modules, xz-compressed.
kernel_packages() {
	local source=$1 series=${2//./\\.} version
	version="${series}[.-][0-9][-+.0-9a-z]*-cloud-amd64"
	apt_for "$source" apt-cache search --names-only \
		"^linux-(image-$version-unsigned|binary-$version)\$" 2>/dev/null |
		awk -v source="$source" '
			$1 ~ /-unsigned$/ { v = substr($1, 13, length($1) - 21); print v, source, $1; next }
			{ v = substr($1, 14); print v, source, $1, "linux-modules-" v }'
}

# newest_kernel SERIES: the newest "VERSION SOURCE PACKAGE..." of that
# series in the system's lists or sid's. Lists that miss it are updated
# once, the system's first: sid is only asked when the system has none.
newest_kernel() {
	local series=$1 found source
	found=$( (kernel_packages system "$series"
		[ -f "$sid_dir/sources.list" ] && kernel_packages sid "$series") |
		sort -V -k 1,1 | tail -n 1)
	for source in system sid; do
		[ -z "$found" ] || break
		apt_update "$source" || continue
		found=$(kernel_packages "$source" "$series" | sort -V -k 1,1 | tail -n 1)
	done
	[ -n "$found" ] && echo "$found"
}

# kernel_dir SERIES: the cached kernel of that series (vmlinuz and its kvm
# modules, uncompressed), downloaded first if there is none: the newest
# one newest_kernel finds.
kernel_dir() {
	local series=$1 cached found version source dir m f
	cached=$(ls -d "$build_dir/kernels/nested/$series"-*/ 2>/dev/null | sort -V | tail -n 1)
	# .modules-3: the cache also holds the virtio block and network
	# modules (an older cache, without the network ones, is fetched again).
	if [ -n "$cached" ] && [ -f "$cached/vmlinuz" ] && [ -f "$cached/.modules-3" ]; then
		echo "${cached%/}"
		return 0
	fi
	found=$(newest_kernel "$series") || return 1
	set -- $found
	version=$1 source=$2
	shift 2
	rm -rf "$work/kernel"
	deb_extract "$source" "$work/kernel" "$@" || return 1
	# The Debian 12 cache's names stay as they were (the package's name
	# without linux-image-), so existing caches are still found.
	case $1 in
	*-unsigned) dir=$build_dir/kernels/nested/$series-${1#linux-image-} ;;
	*) dir=$build_dir/kernels/nested/$series-$version ;;
	esac
	mkdir -p "$dir.tmp"
	f=$(find "$work/kernel" -path "*/boot/vmlinuz-$version" -o \
		-path "*/lib/modules/$version/vmlinuz" | head -n 1)
	[ -n "$f" ] && cp "$f" "$dir.tmp/vmlinuz" || return 1
	for m in irqbypass kvm kvm-amd; do
		f=$(find "$work/kernel" -name "$m.ko*" | head -n 1)
		case $f in
		*.ko) cp "$f" "$dir.tmp/$m.ko" ;;
		*.ko.xz) xz -dc "$f" >"$dir.tmp/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$dir.tmp/$m.ko" ;;
		*) return 1 ;;
		esac || return 1
	done
	# The guest's disk for the I/O check and its network device for the
	# net figures; in order of their dependencies, each only when the
	# kernel has it as a module (else it is built in).
	for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev \
		virtio_pci virtio_blk failover net_failover virtio_net; do
		f=$(find "$work/kernel" -name "$m.ko*" | head -n 1)
		case $f in
		'') continue ;;
		*.ko) cp "$f" "$dir.tmp/$m.ko" ;;
		*.ko.xz) xz -dc "$f" >"$dir.tmp/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$dir.tmp/$m.ko" ;;
		*) return 1 ;;
		esac || return 1
	done
	echo "$m" >"$dir.tmp/.modules-3"
	rm -rf "$work/kernel" "$dir"
	mv "$dir.tmp" "$dir"
	echo "$dir"
}

# copy_with_libs ROOT PROGRAM DEST: the program at DEST in ROOT, and every
# shared library it loads at the same path as here.
copy_with_libs() {
	local root=$1 program=$2 dest=$3 lib
	install -D -m 0755 "$program" "$root$dest"
	for lib in $(ldd "$program" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }'); do
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
}

