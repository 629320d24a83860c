/* cmd_count.c - `gatestore count TYPE ...`: how many entities match. */
#include "gs_common.h"

#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static const char usage[] =
    "usage: gatestore [-C STORE] count TYPE [--guild G] [--user U] [--where FIELD=VALUE]...\n"
    "                                  [--json]\n"
    "\n"
    "Print how many entities of TYPE match (same filters as `gatestore list`).\n"
    "--json prints {\"format\":1,\"type\":..,\"count\":N}.\n";

int cmd_count(gs_cli *cli, int argc, char **argv)
{
    gs_cli_query qa;
    gs_store *st;
    gs_query *q;
    int ec = gs_cli_query_start(cli, "count", usage, argc, argv, &qa, &st, &q);
    if (ec)
        return ec < 0 ? GS_EXIT_OK : ec;
    uint64_t n = 0;
    int rc = gs_query_count(q, &n);
    if (rc) {
        ec = gs_cli_fail(rc, "count", gs_query_errmsg(q));
    } else if (qa.json) {
        printf("{\"format\":1,\"type\":\"%s\",\"count\":%" PRIu64 "}\n", qa.type, n);
    } else {
        printf("%" PRIu64 "\n", n);
    }
    gs_query_destroy(q);
    gs_store_close(st);
    return ec;
}
