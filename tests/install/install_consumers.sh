#!/usr/bin/env bash
# `cmake --install` of the existing build tree into a scratch prefix, then everything a user of
# that prefix does, with no source or build tree involved: the installed CLI from / (version, the
# bundled demo model found by default, its plan cache in XDG_CACHE_HOME), and a separate
# consumer program built twice from the installed files alone: with CMake's find_package(r1vk)
# and with plain cc + pkg-config. Both consumers run on the demo model's plan.
# Usage: install_consumers.sh CMAKE GENERATOR BUILD_DIR VERSION LIBDIR DATADIR DOCDIR
#   (LIBDIR, DATADIR, DOCDIR: the GNUInstallDirs paths relative to the prefix)
set -uo pipefail
cmake=$1 generator=$2 build=$3 version=$4 libdir=$5 datadir=$6 docdir=$7
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../cli/expect.sh"
prefix=$work/prefix
# Plans compiled from checkpoints go to the XDG cache directory (a scratch one here). Mesa keeps
# its compiled shaders under the usual one, so this test does not recompile them every run.
unset R1VK_CACHE_DIR R1VK_PIPELINE_CACHE
export MESA_SHADER_CACHE_DIR=${MESA_SHADER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mesa_shader_cache}
export XDG_CACHE_HOME=$work/xdg
cache=$XDG_CACHE_HOME/r1vk

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || fail "cmake --install: $(cat "$work/install.log")"
for f in bin/r1vk include/r1vk/r1vk.h include/r1vk/version.h "$libdir/cmake/r1vk/r1vkConfig.cmake" \
         "$libdir/pkgconfig/r1vk.pc" "$docdir/c_api.md" "$datadir/r1vk/models/r1vk-demo/model.safetensors"; do
  [ -f "$prefix/$f" ] || fail "the install has no $f"
done
# libr1vk.so -> libr1vk.so.<api major> -> the file, whose SONAME is the middle name.
soname=$(readelf -d "$prefix/$libdir/libr1vk.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ "$soname" =~ ^libr1vk\.so\.[0-9]+$ ]] || fail "SONAME is '$soname', not libr1vk.so.N"
[ -L "$prefix/$libdir/$soname" ] && [ -L "$prefix/$libdir/libr1vk.so" ] || fail "missing soname or dev links"
grep -q "#define R1VK_VERSION_STRING \"$version\"" "$prefix/include/r1vk/version.h" || fail "header version is not $version"

cd / || fail "cannot cd /"
r1vk=$prefix/bin/r1vk
expect_exit 0 "^r1vk $version\$" "$r1vk" --version
# The default MODEL is the installed demo model, not the source tree's.
expect_exit 0 "model TEXT=$prefix/$datadir/r1vk/models/r1vk-demo\$" "$r1vk" run --help
find "$prefix" | sort >"$work/files.before"
expect_exit 0 '^5$' "$r1vk" run -p "What is 2 + 3?" --temperature 0 --hide-reasoning
plan=$(ls "$cache"/*.r1vk 2>/dev/null | head -n 1)
[ -n "$plan" ] || fail "the demo plan was not cached in $cache"
find "$prefix" | sort | cmp -s - "$work/files.before" || fail "r1vk wrote into its install prefix"

check_consumer() {  # check_consumer EXECUTABLE: linked to the installed library, answers right.
  local libs; libs=$(ldd "$1")
  grep -q "libr1vk\.so\.[0-9]* => $prefix/$libdir/" <<<"$libs" || fail "$1 does not load libr1vk from the prefix: $libs"
  local out; out=$("$1" "$plan" "What is 31415 - 92653?" 2>&1) || fail "$1 failed: $out"
  grep -q "^library: r1vk $version " <<<"$out" || fail "$1 does not report library version $version: $out"
  grep -q "^answer: -61238$" <<<"$out" || fail "$1 answered wrong: $out"
}
example=$prefix/$docdir/examples/c_example.c

# 1. CMake: find_package(r1vk CONFIG), target r1vk::r1vk; the package registry is off so only
# the prefix can supply r1vk.
"$cmake" -S "$here/consumer" -B "$work/cmake-consumer" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DR1VK_EXAMPLE_SOURCE="$example" >"$work/consumer.log" 2>&1 &&
  "$cmake" --build "$work/cmake-consumer" >>"$work/consumer.log" 2>&1 || fail "CMake consumer: $(cat "$work/consumer.log")"
grep -q "^r1vk_DIR:PATH=$prefix/$libdir/cmake/r1vk\$" "$work/cmake-consumer/CMakeCache.txt" ||
  fail "find_package found r1vk elsewhere: $(grep r1vk_DIR "$work/cmake-consumer/CMakeCache.txt")"
check_consumer "$work/cmake-consumer/consumer"

# 2. Plain cc with pkg-config (the rpath stands in for ldconfig or LD_LIBRARY_PATH).
flags=$(PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --cflags --libs r1vk) || fail "pkg-config r1vk failed"
[ "$(PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --modversion r1vk)" = "$version" ] || fail "pkg-config version"
# shellcheck disable=SC2086  # the flags are words
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/pc-consumer" "$example" $flags -Wl,-rpath,"$prefix/$libdir" \
  >"$work/cc.log" 2>&1 || fail "cc with pkg-config ($flags): $(cat "$work/cc.log")"
check_consumer "$work/pc-consumer"
echo "installed prefix: CLI, CMake consumer and pkg-config consumer all passed"
