#!/usr/bin/env bash
# The Debian packages end to end (by hand, as root; not part of CI since it installs system-wide):
# builds the .debs with `cpack -G DEB` from build/ (or $R1VK_BUILD_DIR), checks that each
# package's Depends names the package of every library its binaries link, installs them with
# dpkg -i, then, with the source tree hidden (a private mount namespace puts an empty tmpfs over
# it), runs the installed CLI from / on its bundled demo model and builds and runs the installed
# C example with cc + pkg-config. Finally removes the packages it installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${R1VK_BUILD_DIR:-$root/build}
[ "$(id -u)" -eq 0 ] || { echo "test-deb: run as root (it installs the packages with dpkg -i)" >&2; exit 1; }
for p in r1vk libr1vk1 libr1vk-dev; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ]; then
    echo "test-deb: $p is already installed; remove it first (dpkg -P $p)" >&2; exit 1
  fi
done
work=$(mktemp -d)
installed=()
cleanup() {
  [ ${#installed[@]} -eq 0 ] || dpkg -P "${installed[@]}" >/dev/null || echo "test-deb: could not remove ${installed[*]}" >&2
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

names=()
for deb in "${debs[@]}"; do names+=("$(dpkg-deb -f "$deb" Package)"); done
dpkg -i "${debs[@]}" >"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
installed=("${names[@]}")
echo "installed ${installed[*]}"

# From /, with the source tree hidden and an empty cache (XDG_CACHE_HOME): only installed files.
mkdir -p "$work/cache" "$work/consumer"
XDG_CACHE_HOME=$work/cache unshare --mount bash -euc '
  mount -t tmpfs tmpfs "$1"
  [ -z "$(ls -A "$1")" ] || { echo "source tree still visible"; exit 1; }
  cd /
  r1vk --version
  r1vk run -p "What is 2 + 3?" --temperature 0 --hide-reasoning >"$2/run.out"
  cat "$2/run.out"
  ls "$XDG_CACHE_HOME"/r1vk/*.r1vk >/dev/null
  cc -std=c11 -Wall -Werror -o "$2/example" /usr/share/doc/r1vk/examples/c_example.c $(pkg-config --cflags --libs r1vk)
  "$2/example" "$(ls "$XDG_CACHE_HOME"/r1vk/*.r1vk | head -n 1)" "What is 2 + 3?" | tee "$2/example.out"
' _ "$root" "$work/consumer" || fail "the installed r1vk or C example failed (output above)"
[ "$(grep -v '^$' "$work/consumer/run.out")" = 5 ] || fail "r1vk run answered '$(cat "$work/consumer/run.out")', not 5"
grep -qx "answer: 5" "$work/consumer/example.out" || fail "the C example did not answer 5"
echo "test-deb: PASS (the packages install, r1vk and the C example run from / without the source tree)"
