/* cmd_list.c - `gatestore list TYPE ...`: entities of a type, filtered. */
#include "gs_common.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: gatestore [-C STORE] list TYPE [--guild G] [--user U] [--where FIELD=VALUE]...\n"
    "                                 [--limit N] [--json]\n"
    "\n"
    "Print the entities of TYPE from the views, one Discord-shaped JSON object a\n"
    "line, in key order (guild, then id). --guild keeps one guild's (one prefix\n"
    "scan); --user keeps one user's members/voice states/presences, or with TYPE\n"
    "guild the guilds the user is in. --where FIELD=VALUE (repeatable, ANDed): FIELD\n"
    "is a dotted path (name, type, user.username, thread_metadata.archived); VALUE is\n"
    "compared as the field's type; an array field matches if one element equals it.\n"
    "--json is the default output and the contract: one object per line.\n"
    "TYPE: guild channel thread role member user emoji sticker voice_state presence\n"
    "      stage_instance scheduled_event\n";

int cmd_list(gs_cli *cli, int argc, char **argv)
{
    gs_cli_query qa;
    gs_store *st;
    gs_query *q;
    int ec = gs_cli_query_start(cli, "list", usage, argc, argv, &qa, &st, &q);
    if (ec)
        return ec < 0 ? GS_EXIT_OK : ec;
    const char *js;
    size_t len;
    int rc;
    while ((rc = gs_query_next(q, &js, &len)) == 1) {
        fwrite(js, 1, len, stdout);
        fputc('\n', stdout);
    }
    ec = rc < 0 ? gs_cli_fail(rc, "list", gs_query_errmsg(q)) : GS_EXIT_OK;
    gs_query_destroy(q);
    gs_store_close(st);
    if (fflush(stdout) != 0)
        return gs_cli_fail(GS_EIO, "list", "cannot write to standard output");
    return ec;
}
