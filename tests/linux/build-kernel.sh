#!/bin/sh
# Build User-mode Linux from Debian's linux-source-6.1 for make test-linux.
# usage: build-kernel.sh OUTDIR CONFIG_FRAGMENT
# Reuses OUTDIR/linux while the fragment and the package version are the
# ones it was built from (OUTDIR/stamp); otherwise builds from scratch.
set -eu
out=$1
frag=$2
tarball=/usr/src/linux-source-6.1.tar.xz
jobs=${LINUX_JOBS:-2}
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key="linux-source-6.1 $ver config $(sha256sum "$frag" | cut -d' ' -f1)"
if [ -x "$out/linux" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$key" ]; then
    echo "  UML     $out/linux is up to date ($ver)"
    exit 0
fi
echo "  UML     building Linux $ver (ARCH=um) into $out: a few minutes"
start=$(date +%s)
rm -rf "$out"
mkdir -p "$out/src" "$out/modules"
log=$out/build.log
tar -xJf "$tarball" -C "$out/src" --strip-components=1
src=$out/src
kmake() { nice -n 10 make -C "$src" ARCH=um "$@" >>"$log" 2>&1 || {
    echo "build-kernel: make $* failed; the end of $log:" >&2; tail -n 30 "$log" >&2; exit 1; }; }
kmake defconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$frag" >>"$log" 2>&1
kmake olddefconfig
# Every option of the fragment must have stuck (a dependency may drop one).
grep '^CONFIG_' "$frag" | while IFS= read -r line; do
    grep -qx "$line" "$src/.config" || { echo "build-kernel: $line did not stick in .config" >&2; exit 1; }
done
kmake -j"$jobs" linux modules
cp "$src/linux" "$out/linux.tmp"
strip "$out/linux.tmp"
for m in drivers/rpmsg/rpmsg_char.ko drivers/rpmsg/rpmsg_ctrl.ko samples/rpmsg/rpmsg_client_sample.ko; do
    cp "$src/$m" "$out/modules/"
done
mv "$out/linux.tmp" "$out/linux"
echo "$key" > "$out/stamp"
echo "  UML     built in $(( $(date +%s) - start )) s"
