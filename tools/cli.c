/* cli.c - helpers shared by the commands: the exit-code table, opening the
 * store, argument parsing and JSON string output. */
#include "gs_common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "timefmt.h"

int gs_cli_exit_code(int code)
{
    switch (code) {
    case GS_OK:
        return GS_EXIT_OK;
    case GS_ENOTFOUND:
        return GS_EXIT_NOTFOUND;
    case GS_ECORRUPT:
        return GS_EXIT_CORRUPT;
    case GS_EBUSY:
        return GS_EXIT_BUSY;
    case GS_ENOSTORE:
        return GS_EXIT_NOSTORE;
    case GS_EIO:
    case GS_ENOSPC:
    case GS_EFAILED:
        return GS_EXIT_IO;
    case GS_EVERSION:
        return GS_EXIT_VERSION;
    case GS_EMISUSE:
        return GS_EXIT_USAGE;
    case GS_EJSON:
    case GS_ETOOBIG:
    case GS_ETOODEEP:
    case GS_EFRAME:
    case GS_EENVELOPE:
    case GS_EUTF8:
        return GS_EXIT_REJECTED;
    default:
        return GS_EXIT_FAILURE;
    }
}

int gs_cli_fail(int code, const char *what, const char *msg)
{
    fprintf(stderr, "gatestore: %s: %s (%s)\n", what, msg && *msg ? msg : gs_errstr(code),
            gs_errname(code));
    return gs_cli_exit_code(code);
}

int gs_cli_open_opts(gs_cli *cli, const gs_options *o, gs_store **out)
{
    int rc = gs_store_open(cli->store_path, o, out);
    if (rc)
        return gs_cli_fail(rc, cli->store_path, gs_open_errmsg());
    return 0;
}

int gs_cli_open(gs_cli *cli, int read_only, gs_store **out)
{
    gs_options *o = NULL;
    int rc = gs_options_create(&o);
    if (rc)
        return gs_cli_fail(rc, "open", NULL);
    gs_options_set_read_only(o, read_only);
    rc = gs_cli_open_opts(cli, o, out);
    gs_options_destroy(o);
    return rc;
}

int gs_cli_parse_types(const char *cmd, const char *list, uint32_t *mask)
{
    uint32_t m = 0;
    const char *p = list;
    if (strcmp(list, "all") == 0) {
        *mask = GS_VIEW_ALL;
        return 0;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char name[32];
        gs_view_type t;
        if (n == 0 || n >= sizeof(name)) {
            fprintf(stderr, "gatestore %s: bad type list '%s' (names separated by commas)\n", cmd,
                    list);
            return -1;
        }
        memcpy(name, p, n);
        name[n] = 0;
        if (gs_view_type_parse(name, &t) != GS_OK) {
            fprintf(stderr, "gatestore %s: unknown type '%s' in '%s'\n", cmd, name, list);
            return -1;
        }
        m |= GS_VIEW_BIT(t);
        if (!comma)
            break;
        p = comma + 1;
    }
    *mask = m;
    return 0;
}

int gs_cli_rules_arg(const char *cmd, int argc, char **argv, int *i, uint32_t *mask)
{
    int keep = strcmp(argv[*i], "--keep") == 0;
    if (!keep && strcmp(argv[*i], "--drop") != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "gatestore %s: %s needs a list of types\n", cmd, argv[*i]);
        return -1;
    }
    uint32_t m;
    if (gs_cli_parse_types(cmd, argv[++*i], &m))
        return -1;
    *mask = keep ? m : GS_VIEW_ALL & ~m;
    return 1;
}

int gs_cli_parse_compression(const char *s, gs_views_compression *out)
{
    if (strcmp(s, "zstd") == 0)
        *out = GS_VIEWS_COMPRESSION_ZSTD;
    else if (strcmp(s, "lz4") == 0)
        *out = GS_VIEWS_COMPRESSION_LZ4;
    else if (strcmp(s, "auto") == 0)
        *out = GS_VIEWS_COMPRESSION_AUTO;
    else
        return -1;
    return 0;
}

const char *gs_cli_compression_name(gs_views_compression c)
{
    return c == GS_VIEWS_COMPRESSION_LZ4 ? "lz4" : c == GS_VIEWS_COMPRESSION_AUTO ? "auto" : "zstd";
}

int gs_cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int gs_cli_parse_time(const char *s, int64_t *out_us)
{
    uint64_t ms;
    if (gs_cli_parse_u64(s, &ms) == 0) {
        if (ms > (uint64_t)INT64_MAX / 1000)
            return -1;
        *out_us = (int64_t)ms * 1000;
        return 0;
    }
    return gs_time_parse_rfc3339(s, strlen(s), out_us) == 0 ? 0 : -1;
}

void gs_cli_json_str(FILE *f, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c < 0x20) {
            fputs("\\u00", f);
            fputc(hex[c >> 4], f);
            fputc(hex[c & 15], f);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}
