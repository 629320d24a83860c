/*
 * cli.h - shared pieces of the gatestore command-line tool.
 *
 * Shape follows git: `gatestore [-C STORE] <command> [options]`, one file
 * per command (tools/cmd_<name>.c exporting cmd_<name>), `--help` on every
 * command, data on stdout (`--json`: one object per line with "format": 1),
 * messages and progress on stderr, progress only when stderr is a terminal.
 */
#ifndef GS_CLI_H
#define GS_CLI_H

#include <stdio.h>
#include "gatestore.h"

/* Exit codes: a permanent table (README "Exit codes"). Never renumber. */
enum {
    GS_EXIT_OK = 0,
    GS_EXIT_FAILURE = 1,  /* anything not listed below */
    GS_EXIT_USAGE = 2,    /* bad command line */
    GS_EXIT_REJECTED = 3, /* ingest: some input lines were rejected (others were stored) */
    GS_EXIT_NOTFOUND = 4, /* get: no such entity */
    GS_EXIT_CORRUPT = 5,  /* damaged data found (verify, read) */
    GS_EXIT_BUSY = 6,     /* another writer holds the store */
    GS_EXIT_NOSTORE = 7,  /* no store at the path (run init) or not a store */
    GS_EXIT_IO = 8,       /* I/O error, disk full, or store failed after an I/O error */
    GS_EXIT_VERSION = 9   /* store or file written by a newer, incompatible version */
};

/* Global state parsed before the command name. */
typedef struct gs_cli {
    const char *store_path; /* -C, $GATESTORE_DIR, or ./gatestore.db */
    int progress;           /* 1 if progress may be printed on stderr */
    int quiet;              /* -q */
} gs_cli;

typedef int (*gs_cmd_fn)(gs_cli *cli, int argc, char **argv);

/* Map a GS_E* code to an exit code (the one table). */
int gs_cli_exit_code(int gs_code);

/* Print "gatestore: <what>: <msg>" on stderr and return the exit code for
 * code. msg may be NULL (gs_errstr(code) is used). */
int gs_cli_fail(int code, const char *what, const char *msg);

/* Open the store named by cli. On failure prints the message and returns
 * the exit code (non-zero); on success returns 0. */
int gs_cli_open(gs_cli *cli, int read_only, gs_store **out);

/* gs_cli_open with options the caller built (read-only etc. set by it). */
int gs_cli_open_opts(gs_cli *cli, const gs_options *o, gs_store **out);

/* Parse a comma-separated list of view type names ("member,presence", or
 * "all") into a GS_VIEW_BIT mask. 0 ok; -1 bad, with a message on stderr
 * naming the bad element (cmd prefixes it). */
int gs_cli_parse_types(const char *cmd, const char *list, uint32_t *mask);
/* Parse `--keep LIST` / `--drop LIST` at argv[*i] (advancing *i past the
 * value). 1 if argv[*i] was one of them (*mask set), 0 if not, -1 bad. */
int gs_cli_rules_arg(const char *cmd, int argc, char **argv, int *i, uint32_t *mask);

/* Parse a views compression name ("zstd", "lz4", "auto"). 0 ok, -1 bad. */
int gs_cli_parse_compression(const char *s, gs_views_compression *out);
/* Its name. */
const char *gs_cli_compression_name(gs_views_compression c);

/* Parse "123" into *out (unsigned). 0 ok, -1 bad. */
int gs_cli_parse_u64(const char *s, uint64_t *out);
/* Parse an RFC 3339 time or unix milliseconds into µs. 0 ok, -1 bad. */
int gs_cli_parse_time(const char *s, int64_t *out_us);
/* Write a JSON string literal for s[0..len) to f (escaping as needed). */
void gs_cli_json_str(FILE *f, const char *s, size_t len);

/* Print one stored frame to f: its original bytes and "\n", or with json
 * {"format":1,"lsn":..,"received_at":..,"shard":..,"s":..,"t":..,"frame":..}
 * (`log cat` and `tail`). */
void gs_cli_print_record(FILE *f, const gs_record *r, int json);

/* Query options shared by list and count. */
#define GS_CLI_MAX_WHERE 16
typedef struct gs_cli_query {
    const char *type;
    uint64_t guild, user, limit;
    const char *where[GS_CLI_MAX_WHERE]; /* "FIELD=VALUE" */
    size_t nwhere;
    int json;
} gs_cli_query;
/* Parse argv into *qa: 0 ok, -1 --help printed, else a usage exit code. */
int gs_cli_query_args(const char *cmd, const char *usage, int argc, char **argv, gs_cli_query *qa);
/* Create the query *qa describes. */
int gs_cli_query_open(gs_store *st, const gs_cli_query *qa, gs_query **out);
/* Parse argv, open the store read-only and create the query: 0 with *st and
 * *q set, -1 if --help was printed, else the exit code (message printed). */
int gs_cli_query_start(gs_cli *cli, const char *cmd, const char *usage, int argc, char **argv,
                       gs_cli_query *qa, gs_store **st, gs_query **q);

/* Commands. argv[0] is the command name; argv[argc] == NULL. */
int cmd_init(gs_cli *cli, int argc, char **argv);
int cmd_ingest(gs_cli *cli, int argc, char **argv);
int cmd_log(gs_cli *cli, int argc, char **argv); /* cat | verify | stat */
/* Views (issue 4): get, list, count, views status|rebuild */
int cmd_get(gs_cli *cli, int argc, char **argv);
int cmd_list(gs_cli *cli, int argc, char **argv);
int cmd_count(gs_cli *cli, int argc, char **argv);
int cmd_views(gs_cli *cli, int argc, char **argv);
/* Subscriptions (issue 5): follow the log as another process writes it. */
int cmd_tail(gs_cli *cli, int argc, char **argv);

#endif
