/*
 * gatestore.c - the command-line tool: global options, then one
 * subcommand, each in tools/cmd_<name>.c.
 */
#include "gs_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: gatestore [-C STORE] [-q] [--progress] <command> [options]\n"
    "\n"
    "A persistent, event-sourced store of Discord gateway state.\n"
    "\n"
    "commands:\n"
    "  init                 create a store\n"
    "  ingest [FILE...|-]   append gateway frames (NDJSON) to the log\n"
    "  log cat|verify|stat  read, check or describe the log\n"
    "  get TYPE ID          one entity from the views (Discord-shaped JSON)\n"
    "  list TYPE            entities of a type, filtered (--guild, --where, --limit)\n"
    "  count TYPE           how many entities match\n"
    "  views status|rebuild the views' watermark and lag, or rebuild them from the log\n"
    "  tail [--follow]      print the newest frames, and with --follow new ones as they come\n"
    "\n"
    "global options:\n"
    "  -C STORE      the store directory (default: $GATESTORE_DIR, else ./gatestore.db)\n"
    "  -q            no progress or summaries on stderr\n"
    "  --progress    progress on stderr even when it is not a terminal\n"
    "  --version     print the version\n"
    "\n"
    "Run `gatestore <command> --help` for a command's options.\n"
    "\n"
    "exit codes (stable):\n"
    "  0 ok                  1 failure            2 usage\n"
    "  3 lines rejected      4 not found          5 corrupt data\n"
    "  6 store busy          7 no store           8 I/O error or disk full\n"
    "  9 newer format\n";

struct command {
    const char *name;
    gs_cmd_fn fn;
};

static const struct command commands[] = {
    {"init", cmd_init}, {"ingest", cmd_ingest}, {"log", cmd_log},     {"get", cmd_get},
    {"list", cmd_list}, {"count", cmd_count},   {"views", cmd_views}, {"tail", cmd_tail},
};

int main(int argc, char **argv)
{
    /* Two malloc arenas, before any thread: the store's threads free what
     * others allocated, and glibc's default (8 arenas a core) kept 3-10 MiB
     * more resident at the large benchmark shape (gatestore.h). Best
     * effort: sanitizers and other C libraries refuse it, and
     * MALLOC_ARENA_MAX in the environment wins. */
    (void)gs_set_malloc_arenas(2, NULL);
    /* And a fixed mmap threshold: buffers of 2 MiB or more go back to the
     * system when freed instead of staying in the arenas (gatestore.h).
     * Best effort likewise; MALLOC_MMAP_THRESHOLD_ wins. */
    (void)gs_set_malloc_mmap_threshold(GS_MALLOC_MMAP_THRESHOLD, NULL);
    gs_cli cli;
    memset(&cli, 0, sizeof(cli));
    cli.store_path = getenv("GATESTORE_DIR");
    if (!cli.store_path || !*cli.store_path)
        cli.store_path = "./gatestore.db";
    cli.progress = isatty(STDERR_FILENO);

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-C") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gatestore: -C needs a directory\n");
                return GS_EXIT_USAGE;
            }
            cli.store_path = argv[++i];
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli.quiet = 1;
            cli.progress = 0;
        } else if (strcmp(a, "--progress") == 0) {
            cli.progress = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return GS_EXIT_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("gatestore %s\n", gs_version_string());
            return GS_EXIT_OK;
        } else {
            fprintf(stderr, "gatestore: unknown option %s\n\n%s", a, usage);
            return GS_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return GS_EXIT_USAGE;
    }
    for (size_t c = 0; c < GS_ARRAY_LEN(commands); c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            return commands[c].fn(&cli, argc - i, argv + i);
    fprintf(stderr, "gatestore: '%s' is not a command; see `gatestore --help`\n", argv[i]);
    return GS_EXIT_USAGE;
}
