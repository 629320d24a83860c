#!/usr/bin/env bash
# build.sh [OUT_DIR] - build the libFuzzer targets (tests/fuzz/fuzz_*.c)
# with clang, AddressSanitizer and UndefinedBehaviorSanitizer, against the
# library's own sources compiled the same way (coverage-instrumented).
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev). Default
# OUT_DIR: build-fuzz at the top of the tree. Targets: OUT_DIR/fuzz_<name>.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$src/build-fuzz}
CC=${CC:-clang}
CXX=${CXX:-clang++}
mkdir -p "$out/obj"
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
common=(-O1 -g "${san[@]}" -Wall -Wextra -Werror -DGS_BUILDING_LIBRARY
        -I"$src/include" -I"$src/src" -I"$src/log" -I"$src/views")
deps=$(pkg-config --cflags libzstd libxxhash msgpack)
libs=$(pkg-config --libs libzstd libxxhash msgpack rocksdb)

objs=()
compile() { # compile SRC OBJ COMPILER FLAGS...
    local s=$1 o=$2 cc=$3
    shift 3
    if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find "$src/include" "$src/src" "$src/log" \
            "$src/views" -name '*.h' -newer "$o" -print -quit)" ]; then
        "$cc" "$@" -c "$s" -o "$o"
    fi
}
shopt -s nullglob
for s in "$src"/log/*.c "$src"/src/*.c "$src"/views/*.c; do
    o="$out/obj/$(basename "$(dirname "$s")")_$(basename "${s%.c}").o"
    # shellcheck disable=SC2086
    compile "$s" "$o" "$CC" -std=c11 "${common[@]}" -fsanitize=fuzzer-no-link $deps
    objs+=("$o")
done
for s in "$src"/src/json_*.cpp; do
    o="$out/obj/src_$(basename "${s%.cpp}").o"
    compile "$s" "$o" "$CXX" -std=c++17 "${common[@]}" -fsanitize=fuzzer-no-link
    objs+=("$o")
done
rm -f "$out/libgs_fuzz.a"
ar rcs "$out/libgs_fuzz.a" "${objs[@]}"

# shellcheck disable=SC2086
"$CC" -std=c11 "${common[@]}" -fsanitize=fuzzer-no-link -I"$src/tests/fuzz" \
    -c "$src/tests/fuzz/memfs.c" -o "$out/obj/memfs.o"
for t in "$src"/tests/fuzz/fuzz_*.c; do
    name=$(basename "${t%.c}")
    # shellcheck disable=SC2086
    "$CC" -std=c11 "${common[@]}" -fsanitize=fuzzer-no-link -I"$src/tests/fuzz" $deps -c "$t" \
        -o "$out/obj/$name.o"
    # shellcheck disable=SC2086
    "$CXX" "${san[@]}" -fsanitize=fuzzer "$out/obj/$name.o" "$out/obj/memfs.o" "$out/libgs_fuzz.a" \
        -o "$out/$name" \
        $libs -lsimdjson -lpthread
    echo "built $out/$name"
done

# Seeds derived from the fixtures (run.sh adds OUT_DIR/seeds/<target>).
python3 "$src/tests/fuzz/gen_views_seeds.py" "$out/seeds/views"
