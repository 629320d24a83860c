/* cmd_log.c - `gatestore log cat|verify|stat`: read, check and describe the
 * segment log. All three open the store read-only: they run beside a writer. */
#include "gs_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "timefmt.h"

static const char usage[] =
    "usage: gatestore [-C STORE] log cat [--from LSN] [--to LSN] [--since TIME] [--until TIME]\n"
    "                                    [--json]\n"
    "       gatestore [-C STORE] log verify [--json]\n"
    "       gatestore [-C STORE] log stat [--json]\n"
    "\n"
    "cat     print the stored frames, one a line, byte for byte as received, in LSN order.\n"
    "        --json wraps each as {\"format\":1,\"lsn\":..,\"received_at\":..,\"shard\":..,\n"
    "        \"s\":..,\"t\":..,\"frame\":<original bytes>}. TIME is RFC 3339 or unix ms.\n"
    "        Damaged blocks are reported on stderr and skipped (exit 5 at the end);\n"
    "        bytes that fail their checksum are never printed.\n"
    "verify  check every block of every segment; list each bad block with its segment\n"
    "        and offset. Exit 0 iff every block is good, 5 if any is damaged.\n"
    "stat    segments, blocks, records, LSN and time ranges, raw and compressed bytes.\n";

static int is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

static int bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "gatestore log: %s%s%s\n\n%s", msg, arg ? " " : "", arg ? arg : "", usage);
    return GS_EXIT_USAGE;
}

static int log_cat(gs_cli *cli, int argc, char **argv)
{
    gs_log_range range;
    memset(&range, 0, sizeof(range));
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (is_help(a)) {
            fputs(usage, stdout);
            return GS_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
            uint64_t *dst = a[2] == 'f' ? &range.from_lsn : &range.to_lsn;
            if (!v || gs_cli_parse_u64(v, dst) != 0)
                return bad_usage("bad LSN for", a);
            i++;
        } else if (strcmp(a, "--since") == 0 || strcmp(a, "--until") == 0) {
            int64_t *dst = a[2] == 's' ? &range.since_us : &range.until_us;
            if (!v || gs_cli_parse_time(v, dst) != 0)
                return bad_usage("bad time (RFC 3339 or unix ms) for", a);
            i++;
        } else {
            return bad_usage("unknown option", a);
        }
    }
    gs_store *st = NULL;
    int ec = gs_cli_open(cli, 1, &st);
    if (ec)
        return ec;
    gs_log_iter *it = NULL;
    int rc = gs_log_iter_open(st, &range, &it);
    if (rc) {
        ec = gs_cli_fail(rc, "log cat", gs_store_errmsg(st));
        gs_store_close(st);
        return ec;
    }
    int damaged = 0, other = 0;
    gs_record r;
    for (;;) {
        rc = gs_log_iter_next(it, &r);
        if (rc == 0)
            break;
        if (rc == GS_ECORRUPT) {
            gs_cli_fail(rc, "log cat", gs_log_iter_errmsg(it));
            damaged = 1;
            continue; /* the iterator resumes at the next good block */
        }
        if (rc < 0) {
            other = gs_cli_fail(rc, "log cat", gs_log_iter_errmsg(it));
            break;
        }
        gs_cli_print_record(stdout, &r, json);
    }
    gs_log_iter_close(it);
    gs_store_close(st);
    if (fflush(stdout) != 0 || ferror(stdout))
        return gs_cli_fail(GS_EIO, "log cat", "cannot write to standard output");
    if (other)
        return other;
    return damaged ? GS_EXIT_CORRUPT : GS_EXIT_OK;
}

struct verify_ctx {
    int json;
};

static void on_bad_block(void *ud, const char *segment, uint64_t offset, int code, const char *what)
{
    struct verify_ctx *c = ud;
    if (c->json) {
        printf("{\"format\":1,\"bad\":true,\"segment\":");
        gs_cli_json_str(stdout, segment, strlen(segment));
        printf(",\"offset\":%" PRIu64 ",\"code\":\"%s\",\"what\":", offset, gs_errname(code));
        gs_cli_json_str(stdout, what, strlen(what));
        printf("}\n");
    } else {
        printf("BAD %s offset %" PRIu64 ": %s: %s\n", segment, offset, gs_errname(code), what);
    }
}

static int log_verify(gs_cli *cli, int argc, char **argv)
{
    struct verify_ctx c = {0};
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage, stdout);
            return GS_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            c.json = 1;
        } else {
            return bad_usage("unknown option", argv[i]);
        }
    }
    gs_store *st = NULL;
    int ec = gs_cli_open(cli, 1, &st);
    if (ec)
        return ec;
    gs_verify_summary sum;
    memset(&sum, 0, sizeof(sum));
    int rc = gs_log_verify(st, on_bad_block, &c, &sum);
    if (c.json) {
        printf("{\"format\":1,\"ok\":%s,\"segments\":%" PRIu64 ",\"blocks_ok\":%" PRIu64
               ",\"blocks_bad\":%" PRIu64 ",\"records_ok\":%" PRIu64 ",\"bytes_checked\":%" PRIu64
               "}\n",
               rc == GS_OK ? "true" : "false", sum.segments, sum.blocks_ok, sum.blocks_bad,
               sum.records_ok, sum.bytes_checked);
    } else {
        printf("%s: %" PRIu64 " segments, %" PRIu64 " blocks good, %" PRIu64 " bad, %" PRIu64
               " records, %" PRIu64 " bytes checked\n",
               rc == GS_OK ? "ok" : "DAMAGED", sum.segments, sum.blocks_ok, sum.blocks_bad,
               sum.records_ok, sum.bytes_checked);
    }
    if (rc != GS_OK && rc != GS_ECORRUPT)
        ec = gs_cli_fail(rc, "log verify", gs_store_errmsg(st));
    else
        ec = gs_cli_exit_code(rc);
    gs_store_close(st);
    return ec;
}

static int log_stat(gs_cli *cli, int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage, stdout);
            return GS_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            return bad_usage("unknown option", argv[i]);
        }
    }
    gs_store *st = NULL;
    int ec = gs_cli_open(cli, 1, &st);
    if (ec)
        return ec;
    gs_log_stat s;
    int rc = gs_log_stat_get(st, &s);
    if (rc) {
        ec = gs_cli_fail(rc, "log stat", gs_store_errmsg(st));
        gs_store_close(st);
        return ec;
    }
    char t0[40] = "-", t1[40] = "-";
    if (s.records) {
        gs_time_format_rfc3339(s.min_recv_us, t0, sizeof(t0));
        gs_time_format_rfc3339(s.max_recv_us, t1, sizeof(t1));
    }
    if (json) {
        printf("{\"format\":1,\"segments\":%" PRIu64 ",\"sealed_segments\":%" PRIu64
               ",\"blocks\":%" PRIu64 ",\"records\":%" PRIu64 ",\"first_lsn\":%" PRIu64
               ",\"last_lsn\":%" PRIu64 ",",
               s.segments, s.sealed_segments, s.blocks, s.records, s.first_lsn, s.last_lsn);
        if (s.records)
            printf("\"min_received_at\":\"%s\",\"max_received_at\":\"%s\",", t0, t1);
        else
            printf("\"min_received_at\":null,\"max_received_at\":null,");
        printf("\"raw_bytes\":%" PRIu64 ",\"compressed_bytes\":%" PRIu64 ",\"file_bytes\":%" PRIu64
               "}\n",
               s.raw_bytes, s.compressed_bytes, s.file_bytes);
    } else {
        double ratio = s.compressed_bytes ? (double)s.raw_bytes / (double)s.compressed_bytes : 0;
        printf("segments:         %" PRIu64 " (%" PRIu64 " sealed)\n", s.segments,
               s.sealed_segments);
        printf("blocks:           %" PRIu64 "\n", s.blocks);
        printf("records:          %" PRIu64 "\n", s.records);
        printf("lsn range:        %" PRIu64 " .. %" PRIu64 "\n", s.first_lsn, s.last_lsn);
        printf("time range:       %s .. %s\n", t0, t1);
        printf("raw bytes:        %" PRIu64 "\n", s.raw_bytes);
        printf("compressed bytes: %" PRIu64 " (ratio %.2f)\n", s.compressed_bytes, ratio);
        printf("file bytes:       %" PRIu64 "\n", s.file_bytes);
    }
    gs_store_close(st);
    return GS_EXIT_OK;
}

int cmd_log(gs_cli *cli, int argc, char **argv)
{
    if (argc < 2)
        return bad_usage("missing subcommand (cat, verify or stat)", NULL);
    if (is_help(argv[1])) {
        fputs(usage, stdout);
        return GS_EXIT_OK;
    }
    if (strcmp(argv[1], "cat") == 0)
        return log_cat(cli, argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return log_verify(cli, argc - 1, argv + 1);
    if (strcmp(argv[1], "stat") == 0)
        return log_stat(cli, argc - 1, argv + 1);
    return bad_usage("unknown subcommand", argv[1]);
}
