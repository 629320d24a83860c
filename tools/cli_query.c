/* cli_query.c - the options `list` and `count` share: TYPE, --guild,
 * --user, --where FIELD=VALUE, --limit. */
#include "gs_common.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

int gs_cli_query_args(const char *cmd, const char *usage, int argc, char **argv, gs_cli_query *qa)
{
    memset(qa, 0, sizeof(*qa));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return -1;
        } else if (strcmp(a, "--json") == 0) {
            qa->json = 1;
        } else if (strcmp(a, "--guild") == 0 && v && gs_cli_parse_u64(v, &qa->guild) == 0) {
            i++;
        } else if (strcmp(a, "--user") == 0 && v && gs_cli_parse_u64(v, &qa->user) == 0) {
            i++;
        } else if (strcmp(a, "--limit") == 0 && v && gs_cli_parse_u64(v, &qa->limit) == 0) {
            i++;
        } else if (strcmp(a, "--where") == 0 && v && strchr(v, '=') && v[0] != '=' &&
                   qa->nwhere < GS_CLI_MAX_WHERE) {
            qa->where[qa->nwhere++] = v;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "gatestore %s: bad option or value: %s\n\n%s", cmd, a, usage);
            return GS_EXIT_USAGE;
        } else if (!qa->type) {
            qa->type = a;
        } else {
            fprintf(stderr, "gatestore %s: unexpected argument %s\n\n%s", cmd, a, usage);
            return GS_EXIT_USAGE;
        }
    }
    gs_view_type t;
    if (!qa->type || gs_view_type_parse(qa->type, &t) != GS_OK) {
        fprintf(stderr, "gatestore %s: need a TYPE\n\n%s", cmd, usage);
        return GS_EXIT_USAGE;
    }
    return 0;
}

int gs_cli_query_open(gs_store *st, const gs_cli_query *qa, gs_query **out)
{
    gs_query *q = NULL;
    int rc = gs_query_create(st, qa->type, &q);
    if (rc == GS_OK && qa->guild)
        rc = gs_query_guild(q, qa->guild);
    if (rc == GS_OK && qa->user)
        rc = gs_query_user(q, qa->user);
    if (rc == GS_OK && qa->limit)
        rc = gs_query_limit(q, qa->limit);
    for (size_t i = 0; rc == GS_OK && i < qa->nwhere; i++) {
        char field[256];
        const char *eq = strchr(qa->where[i], '=');
        size_t n = (size_t)(eq - qa->where[i]);
        if (n >= sizeof(field))
            n = sizeof(field) - 1;
        memcpy(field, qa->where[i], n);
        field[n] = '\0';
        rc = gs_query_where(q, field, eq + 1);
    }
    if (rc) {
        gs_query_destroy(q);
        return rc;
    }
    *out = q;
    return GS_OK;
}

int gs_cli_query_start(gs_cli *cli, const char *cmd, const char *usage, int argc, char **argv,
                       gs_cli_query *qa, gs_store **st, gs_query **q)
{
    *st = NULL;
    *q = NULL;
    int ec = gs_cli_query_args(cmd, usage, argc, argv, qa);
    if (ec)
        return ec;
    ec = gs_cli_open(cli, 1, st);
    if (ec)
        return ec;
    int rc = gs_cli_query_open(*st, qa, q);
    if (rc) {
        ec = gs_cli_fail(rc, cmd, gs_store_errmsg(*st));
        gs_store_close(*st);
        *st = NULL;
        return ec;
    }
    return 0;
}
