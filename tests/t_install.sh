#!/usr/bin/env bash
# t_install.sh - `cmake --install` into a temporary prefix, then build a
# small client with the installed header and pkg-config file, against the
# shared and the static library, and run both.
# Env: GS_BIN (build dir).
set -euo pipefail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cmake --install "$GS_BIN" --prefix "$T/prefix" >/dev/null
export PKG_CONFIG_PATH=$T/prefix/lib/pkgconfig
cat >"$T/client.c" <<'C'
#include <gatestore.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
    (void)argc;
    if (gs_version_number() != GS_VERSION_NUMBER)
        return 10;
    gs_options *o;
    gs_options_create(&o);
    gs_options_set_create(o, 1);
    gs_store *st;
    if (gs_store_open(argv[1], o, &st) != GS_OK) {
        fprintf(stderr, "%s\n", gs_open_errmsg());
        return 11;
    }
    const char *f = "{\"op\":0,\"t\":\"X\",\"s\":1,\"d\":{}}";
    uint64_t lsn = 0;
    int rc = gs_ingest_line(st, f, strlen(f), NULL, &lsn);
    gs_store_close(st);
    gs_options_destroy(o);
    return rc == GS_OK && lsn == 1 ? 0 : 12;
}
C
cc -std=c11 -Wall -Werror "$T/client.c" -o "$T/client_shared" $(pkg-config --cflags --libs gatestore) \
  -Wl,-rpath,"$T/prefix/lib"
"$T/client_shared" "$T/s1.db"
cc -std=c11 -Wall -Werror "$T/client.c" -o "$T/client_static" $(pkg-config --cflags gatestore) \
  "$T/prefix/lib/libgatestore.a" $(pkg-config --static --libs gatestore | sed 's/-lgatestore//')
"$T/client_static" "$T/s2.db"
# Only gs_ symbols are exported from the shared library.
others=$(nm -D --defined-only "$T/prefix/lib/libgatestore.so" | awk '$2 == "T" && $3 !~ /^gs_/' | wc -l)
[ "$others" -eq 0 ] || { echo "install: $others non-gs_ symbols exported"; exit 1; }
echo "install: 3 passed, 0 failed"
