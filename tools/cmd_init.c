/* cmd_init.c - `gatestore init`: create a store. */
#include "gs_common.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] = "usage: gatestore [-C STORE] init\n"
                            "\n"
                            "Create an empty store at STORE (default ./gatestore.db).\n"
                            "An existing store is left as it is (exit 0).\n";

int cmd_init(gs_cli *cli, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return GS_EXIT_OK;
        }
        fprintf(stderr, "gatestore init: unexpected argument %s\n\n%s", argv[i], usage);
        return GS_EXIT_USAGE;
    }
    gs_options *o = NULL;
    int rc = gs_options_create(&o);
    if (rc == GS_OK)
        rc = gs_options_set_create(o, 1);
    gs_store *st = NULL;
    if (rc == GS_OK)
        rc = gs_store_open(cli->store_path, o, &st);
    gs_options_destroy(o);
    if (rc)
        return gs_cli_fail(rc, cli->store_path, gs_open_errmsg());
    rc = gs_store_close(st);
    if (rc)
        return gs_cli_fail(rc, cli->store_path, gs_open_errmsg());
    if (!cli->quiet)
        fprintf(stderr, "gatestore: store ready at %s\n", cli->store_path);
    return GS_EXIT_OK;
}
