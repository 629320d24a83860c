/* cmd_get.c - `gatestore get TYPE ID [--guild G] [--msgpack]`: one entity. */
#include "gs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: gatestore [-C STORE] get TYPE ID [--guild G] [--json] [--msgpack]\n"
    "\n"
    "Print one entity from the views as Discord-shaped JSON (the gateway's field\n"
    "names, ids as strings) on one line. --json is accepted for symmetry (the output\n"
    "is always JSON); --msgpack writes the same object as msgpack bytes instead.\n"
    "TYPE: guild channel thread role member user emoji sticker voice_state presence\n"
    "      stage_instance scheduled_event\n"
    "member, voice_state and presence need --guild (ID is then the user id).\n"
    "\n"
    "exit: 0 found; 4 no such entity (nothing printed); 2 bad arguments.\n";

int cmd_get(gs_cli *cli, int argc, char **argv)
{
    const char *type = NULL, *id_s = NULL;
    uint64_t id = 0, guild = 0;
    int msgpack = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return GS_EXIT_OK;
        } else if (strcmp(a, "--guild") == 0 && v && gs_cli_parse_u64(v, &guild) == 0) {
            i++;
        } else if (strcmp(a, "--json") == 0) {
            /* always JSON */
        } else if (strcmp(a, "--msgpack") == 0) {
            msgpack = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "gatestore get: bad option or value: %s\n\n%s", a, usage);
            return GS_EXIT_USAGE;
        } else if (!type) {
            type = a;
        } else if (!id_s) {
            id_s = a;
        } else {
            fprintf(stderr, "gatestore get: unexpected argument %s\n\n%s", a, usage);
            return GS_EXIT_USAGE;
        }
    }
    gs_view_type t;
    if (!type || !id_s || gs_view_type_parse(type, &t) != GS_OK ||
        gs_cli_parse_u64(id_s, &id) != 0) {
        fprintf(stderr, "gatestore get: need a TYPE and a numeric ID\n\n%s", usage);
        return GS_EXIT_USAGE;
    }
    gs_store *st = NULL;
    int ec = gs_cli_open(cli, 1, &st);
    if (ec)
        return ec;
    char *out = NULL;
    size_t len = 0;
    int rc = msgpack ? gs_get_msgpack(st, type, id, guild, &out, &len)
                     : gs_get(st, type, id, guild, &out, &len);
    if (rc == GS_ENOTFOUND) {
        gs_store_close(st);
        return GS_EXIT_NOTFOUND;
    }
    if (rc) {
        ec = gs_cli_fail(rc, "get", gs_store_errmsg(st));
        gs_store_close(st);
        return ec;
    }
    fwrite(out, 1, len, stdout);
    if (!msgpack)
        fputc('\n', stdout);
    gs_free(out);
    gs_store_close(st);
    return GS_EXIT_OK;
}
