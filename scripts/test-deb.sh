#!/usr/bin/env bash
# The Debian packages end to end (by hand, as root; not part of CI since it installs packages):
# builds the .debs with `cpack -G DEB` from build/ (or $R1VK_BUILD_DIR), checks that each
# package's Depends names the package of every library its binaries link, then installs them and,
# from /, runs `r1vk run` on the bundled demo model and builds the installed C example with
# cc + pkg-config and runs it.
#   scripts/test-deb.sh           installs on this machine with dpkg -i, with the source tree
#                                 hidden (an empty tmpfs over it in a private mount namespace),
#                                 then purges the packages again
#   scripts/test-deb.sh --fresh   installs with apt into a fresh minimal Debian 12 chroot made by
#                                 debootstrap (needs the debootstrap package and the network; apt
#                                 resolves the Depends and Recommends there), then deletes it
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${R1VK_BUILD_DIR:-$root/build}
fresh=0
[ "${1:-}" != --fresh ] || fresh=1
[ "$(id -u)" -eq 0 ] || { echo "test-deb: run as root (it installs packages)" >&2; exit 1; }
[ $fresh -eq 0 ] || command -v debootstrap >/dev/null || { echo "test-deb: --fresh needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
[ $fresh -eq 1 ] || for p in r1vk libr1vk1 libr1vk-dev; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ]; then
    echo "test-deb: $p is already installed; remove it first (dpkg -P $p)" >&2; exit 1
  fi
done
work=$(mktemp -d)
installed=()
cleanup() {
  [ ${#installed[@]} -eq 0 ] || dpkg -P "${installed[@]}" >/dev/null || echo "test-deb: could not remove ${installed[*]}" >&2
  # The chroot's mounts lived in a private mount namespace; make sure none is left before rm -rf.
  if grep -q " $work/" /proc/mounts; then echo "test-deb: mounts left under $work; not deleting it" >&2; return; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }

cmake --build "$build" --target r1vk r1vk_capi >/dev/null
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >"$work/cpack.log" 2>&1 || fail "cpack: $(cat "$work/cpack.log")"
debs=("$work"/*.deb)
for deb in "${debs[@]}"; do
  echo "== $(basename "$deb")"; dpkg-deb -f "$deb" Package Version Depends Recommends | sed 's/^/   /'
done

# Depends must cover every NEEDED library of every ELF file in the package (an independent check of
# dpkg-shlibdeps' work: the owning package of each library, as dpkg itself records it).
owner() {  # the package that installed library path $1 (with or without the /usr of merged-usr)
  local p=$1 alt=${1#/usr}
  [ "$alt" != "$p" ] || alt=/usr$p
  { dpkg -S "$p" 2>/dev/null || dpkg -S "$alt" 2>/dev/null; } | head -n 1 | cut -d: -f1
}
for deb in "${debs[@]}"; do
  x="$work/x-$(basename "$deb")"; dpkg-deb -x "$deb" "$x"
  depends=$(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' | sed -E 's/\(.*\)//; s/ //g')
  while IFS= read -r elf; do
    for lib in $(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      # "lib => /path (addr)", or "/path/lib (addr)" for the dynamic loader
      path=$(ldd "$elf" | awk -v l="$lib" '$1 == l && $2 == "=>" {print $3} substr($1, length($1) - length(l)) == "/" l {print $1}')
      [ -n "$path" ] || fail "$(basename "$elf") needs $lib, which ldd does not find"
      pkg=$(owner "$path")
      [ -n "$pkg" ] || fail "$(basename "$elf") needs $lib ($path), which no package owns"
      echo "$depends" | grep -qx "$pkg" || fail "$(basename "$deb"): $(basename "$elf") needs $lib from $pkg, not in Depends"
    done
  done < <(find "$x" -type f -exec sh -c 'head -c 4 "$1" | grep -q ELF' _ {} \; -print)
done
echo "Depends cover every linked library"

# Run from / by the installed packages: r1vk on its default model (plan cache in an empty
# XDG_CACHE_HOME), and the shipped C example built with pkg-config. Outputs go to $1.
cat >"$work/check.sh" <<'CHECK'
set -eu
out=$1
export XDG_CACHE_HOME=$out/cache
cd /
r1vk --version
r1vk run -p "What is 2 + 3?" --temperature 0 --hide-reasoning >"$out/run.out"
cat "$out/run.out"
plan=$(ls "$XDG_CACHE_HOME"/r1vk/*.r1vk | head -n 1)
cc -std=c11 -Wall -Werror -o "$out/example" /usr/share/doc/r1vk/examples/c_example.c $(pkg-config --cflags --libs r1vk)
"$out/example" "$plan" "What is 2 + 3?" | tee "$out/example.out"
CHECK
out=$work/out
mkdir -p "$out"

if [ $fresh -eq 1 ]; then
  echo "debootstrap: a minimal Debian 12 (bookworm) in $work/root"
  debootstrap --variant=minbase bookworm "$work/root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    fail "debootstrap: $(tail -5 "$work/debootstrap.log")"
  cp /etc/resolv.conf "$work/root/etc/resolv.conf"
  mkdir -p "$work/root/debs" "$work/root$out"
  cp "${debs[@]}" "$work/check.sh" "$work/root/debs/"
  # apt installs the packages' Depends and Recommends, plus what the C example's build needs.
  unshare --mount --fork bash -euc '
    mount -t proc proc "$1/proc"; mount --rbind /dev "$1/dev"
    chroot "$1" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive bash -euc "
      apt-get update -qq
      apt-get install -y -qq /debs/*.deb gcc libc6-dev pkgconf >/debs/apt.log 2>&1 || { tail -20 /debs/apt.log; exit 1; }
      dpkg-query -W r1vk libr1vk1 libr1vk-dev libvulkan1 mesa-vulkan-drivers
      bash /debs/check.sh $2"
  ' _ "$work/root" "$out" || fail "in the fresh chroot (output above)"
  out=$work/root$out
else
  names=()
  for deb in "${debs[@]}"; do names+=("$(dpkg-deb -f "$deb" Package)"); done
  dpkg -i "${debs[@]}" >"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
  installed=("${names[@]}")
  echo "installed ${installed[*]}"
  unshare --mount bash -euc 'mount -t tmpfs tmpfs "$1"; [ -z "$(ls -A "$1")" ] && bash "$2" "$3"' \
    _ "$root" "$work/check.sh" "$out" || fail "the installed r1vk or C example failed (output above)"
fi
[ "$(grep -v '^$' "$out/run.out")" = 5 ] || fail "r1vk run answered '$(cat "$out/run.out")', not 5"
grep -qx "answer: 5" "$out/example.out" || fail "the C example did not answer 5"
echo "test-deb: PASS ($([ $fresh -eq 1 ] && echo "fresh Debian 12 chroot" || echo "this machine, source tree hidden")):" \
  "the packages install, r1vk and the C example run from /"
