#!/usr/bin/env bash
# Installs Corvee from a build tree into a scratch prefix, builds tests/install/consumer (the
# README's C++ example) against it with find_package(Corvee) and again with pkg-config, both with
# -Wall -Wextra -Werror, and runs it against a real broker.
# Usage: install_test.sh BUILD_DIR WORK_DIR   (ctest passes both; WORK_DIR is wiped first)
set -euo pipefail
source "$(dirname "$0")/../support/listening_port.sh"
build=$1 work=$2
src=$(cd "$(dirname "$0")" && pwd)
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
broker_pid=
cleanup() { [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/corvee include/corvee/client.h include/corvee/worker.h include/corvee/version.h \
         lib/cmake/Corvee/CorveeConfig.cmake lib/pkgconfig/corvee.pc; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
[ -e "$(find "$prefix" -name libcorvee_client.a | head -1)" ] || fail "libcorvee_client.a not installed"
# The usage requirements carry none of Corvee's private build flags.
if grep -nE 'Werror|include utility|/src\b|BOOST_ASIO|SPDLOG_FMT' "$prefix"/lib/cmake/Corvee/*.cmake \
     "$prefix/lib/pkgconfig/corvee.pc"; then
  fail "private build flags leak into the installed package"
fi
# The public headers include no Boost (nor anything else outside the standard library).
if grep -n '#include' "$prefix"/include/corvee/*.h | grep -v -e '<[a-z_]*>' -e '"corvee/'; then
  fail "public headers include non-standard headers"
fi

# The README's C++ example is this program (without the file's two-line header comment).
readme=$src/../../README.md
diff <(sed -n '/^## The C++ library/,/^```$/p' "$readme" | sed '1,/^```cpp$/d; $d') \
     <(sed '1,2d' "$src/consumer/main.cc") || fail "README.md's C++ example differs from consumer/main.cc"

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$work CCACHE_NOHASHDIR=true
fi
flags="-Wall -Wextra -Werror"
cmake -S "$src/consumer" -B "$work/consumer-build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="$flags" "${launcher[@]}" >"$work/configure.log" \
  || { cat "$work/configure.log"; fail "configuring the consumer failed"; }
cmake --build "$work/consumer-build" || fail "building the consumer failed"

# The same program through pkg-config.
pc_flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs corvee)
cc=(c++)
[ ${#launcher[@]} -gt 0 ] && cc=(ccache c++)
"${cc[@]}" -std=c++20 $flags "$src/consumer/main.cc" -o "$work/consumer-pc" $pc_flags \
  || fail "building the consumer with pkg-config failed ($pc_flags)"

# A real broker on a free port.
"$prefix/bin/corvee" broker --store memory --bind tcp://127.0.0.1:0 >"$work/broker.log" 2>&1 &
broker_pid=$!
port=$(listening_port "$work/broker.log" "$broker_pid") || fail "the broker did not start"

for exe in "$work/consumer-build/consumer" "$work/consumer-pc"; do
  out=$(timeout 30 "$exe" "tcp://127.0.0.1:$port") || fail "$exe failed (exit $?)"
  # The libraries log to stderr (include/corvee/logging.h): stdout is the program's alone.
  [ "$out" = "hello, world" ] || fail "$exe printed '$out' on stdout, expected exactly 'hello, world'"
done
[ "$("$prefix/bin/corvee" --version)" = "$("$prefix/bin/corvee" version)" ] || fail "version mismatch"
echo "install_test: ok"
