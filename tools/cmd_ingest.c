/* cmd_ingest.c - `gatestore ingest`: append NDJSON gateway frames to the log. */
#include "gs_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ingest.h"
#include "linereader.h"

static const char usage[] =
    "usage: gatestore [-C STORE] ingest [--shard N] [--durability sync|batch|off] [--strict]\n"
    "                                   [--max-frame-bytes N] [--max-depth N] [--json] "
    "[FILE...|-]\n"
    "                                   [--entity-cache-mb N] [--block-cache-mb N] "
    "[--write-buffer-mb N]\n"
    "                                   [--views-compression auto|zstd|lz4]\n"
    "\n"
    "Append gateway frames to the store's log, one JSON object per line: a frame\n"
    "{\"op\":0,\"t\":..,\"s\":..,\"d\":..} (keys in any order) or a capture envelope\n"
    "{\"frame\":{...},\"received_at\":\"RFC 3339\"|unix_ms,\"shard\":N}. Reads standard input\n"
    "when no FILE is given or FILE is -.\n"
    "\n"
    "Dispatch frames (op 0) are stored with their exact bytes, known or unknown `t`\n"
    "alike. Other opcodes (1, 7, 9, 10, 11...) are counted and skipped. A bad line is\n"
    "reported with its line number, code and message, not stored, and ingest goes on.\n"
    "\n"
    "  --shard N            shard id to record (an envelope's \"shard\" overrides it)\n"
    "  --durability MODE    sync: each frame fsynced before the next; batch (default):\n"
    "                       fsync every 10 ms or 4 MiB; off: fsync only at the end\n"
    "  --strict             stop at the first bad line\n"
    "  --max-frame-bytes N  longest accepted line (default 67108864)\n"
    "  --max-depth N        deepest accepted JSON nesting (default 256; the top-level\n"
    "                       value is depth 1)\n"
    "  --segment-bytes N    roll to a new segment at this size (default 67108864)\n"
    "  --batch-ms N         batch mode: fsync at least every N ms (default 10)\n"
    "  --entity-cache-mb N  views memory budgets for this run, in MiB (defaults 40, 8\n"
    "  --block-cache-mb N   and 16; 1..1048576): entity values kept in memory, RocksDB's\n"
    "  --write-buffer-mb N  block cache, its write buffers. Larger ones help once the\n"
    "                       views outgrow them (many guilds); not stored in the store\n"
    "  --views-compression auto|zstd|lz4\n"
    "                       how members, users and presences are compressed: zstd\n"
    "                       is smallest; lz4 about doubles point-read speed once\n"
    "                       they outgrow the caches, for about 15 % more bytes on\n"
    "                       disk; auto (new stores) is zstd until their files pass\n"
    "                       half the entity cache budget, then lz4. Stored with\n"
    "                       the views (later runs keep it); no rebuild: the files\n"
    "                       written from then on use it\n"
    "  --json               print the summary as one JSON object on stdout\n"
    "  -q, --quiet          no summary or progress on stderr (rejections are still listed)\n"
    "\n"
    "exit: 0 all lines stored or skipped; 3 some lines rejected (the others are stored);\n"
    "      6 store busy; 7 no store; 8 I/O error or disk full (everything acknowledged\n"
    "      before it is kept).\n";

struct ingest_stats {
    uint64_t lines, appended, skipped, rejected, blank, bytes;
    uint64_t first_lsn, last_lsn;
};

struct ingest_opts {
    int32_t shard;
    int strict;
    int json;
};

static int open_input(const char *name, int *fd)
{
    if (strcmp(name, "-") == 0) {
        *fd = STDIN_FILENO;
        return 0;
    }
    *fd = open(name, O_RDONLY | O_CLOEXEC);
    return *fd < 0 ? -1 : 0;
}

static void progress(const struct ingest_stats *s, uint64_t t0_ns)
{
    double secs = (double)(gs_mono_ns() - t0_ns) / 1e9;
    fprintf(stderr, "\ringest: %" PRIu64 " lines, %" PRIu64 " stored, %.1f MB, %.1f MB/s   ",
            s->lines, s->appended, (double)s->bytes / 1e6,
            secs > 0 ? (double)s->bytes / 1e6 / secs : 0.0);
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/* Ingest one input. Returns 0 to go on, or an exit code to stop with. */
static int ingest_fd(gs_cli *cli, gs_store *st, const char *name, int fd,
                     const struct ingest_opts *io, struct ingest_stats *s, uint64_t t0_ns,
                     uint64_t max_line)
{
    gs_err err;
    gs_linereader *lr = NULL;
    int rc = gs_linereader_open(fd, max_line, &lr, &err);
    if (rc)
        return gs_cli_fail(rc, name, err.msg);
    gs_frame_meta meta = {0, io->shard};
    uint64_t next_progress = gs_mono_ns() + 500000000u;
    uint64_t base_bytes = s->bytes;
    int stop = 0;
    for (;;) {
        gs_line line;
        rc = gs_linereader_next(lr, &line, &err);
        if (rc == 0)
            break;
        s->bytes = base_bytes + gs_linereader_bytes(lr);
        if (rc == GS_ETOOBIG) {
            s->lines++;
            s->rejected++;
            fprintf(stderr, "gatestore ingest: %s:%" PRIu64 ": GS_ETOOBIG: %s\n", name, line.lineno,
                    err.msg);
            if (io->strict) {
                stop = GS_EXIT_REJECTED;
                break;
            }
            continue;
        }
        if (rc < 0) {
            stop = gs_cli_fail(rc, name, err.msg);
            break;
        }
        s->lines++;
        if (is_blank(line.data, line.len)) {
            s->blank++;
            continue;
        }
        uint64_t lsn = 0;
        rc = gs_ingest_line_cap(st, line.data, line.len, line.cap, &meta, &lsn);
        if (rc == GS_OK) {
            if (!s->first_lsn)
                s->first_lsn = lsn;
            s->last_lsn = lsn;
            s->appended++;
        } else if (rc == GS_SKIPPED) {
            s->skipped++;
        } else if (gs_cli_exit_code(rc) == GS_EXIT_REJECTED) {
            s->rejected++;
            fprintf(stderr, "gatestore ingest: %s:%" PRIu64 ": %s: %s\n", name, line.lineno,
                    gs_errname(rc), gs_store_errmsg(st));
            if (io->strict) {
                stop = GS_EXIT_REJECTED;
                break;
            }
        } else {
            /* The store itself failed (disk full, I/O error): stop at once.
             * Everything acknowledged before stays in the log. */
            fprintf(stderr, "gatestore ingest: %s:%" PRIu64 ": stopping\n", name, line.lineno);
            stop = gs_cli_fail(rc, "ingest", gs_store_errmsg(st));
            break;
        }
        if (cli->progress && (s->lines & 1023) == 0 && gs_mono_ns() >= next_progress) {
            progress(s, t0_ns);
            next_progress = gs_mono_ns() + 500000000u;
        }
    }
    s->bytes = base_bytes + gs_linereader_bytes(lr);
    gs_linereader_close(lr);
    return stop;
}

static int parse_durability(const char *v, gs_durability *d)
{
    if (strcmp(v, "sync") == 0)
        *d = GS_DURABILITY_SYNC;
    else if (strcmp(v, "batch") == 0)
        *d = GS_DURABILITY_BATCH;
    else if (strcmp(v, "off") == 0)
        *d = GS_DURABILITY_OFF;
    else
        return -1;
    return 0;
}

static void report_recovery(gs_store *st)
{
    gs_recovery_report rep;
    if (gs_store_recovery_report(st, &rep) == GS_OK && rep.truncated)
        fprintf(stderr,
                "gatestore: recovered the log: cut a torn tail of %" PRIu64 " bytes from %s at "
                "offset %" PRIu64 " (last good LSN %" PRIu64 "); dropped bytes saved in %s\n",
                rep.bytes_dropped, rep.segment, rep.offset, rep.last_good_lsn,
                rep.quarantine[0] ? rep.quarantine : "(not saved)");
}

static void print_summary(gs_cli *cli, const struct ingest_opts *io, const struct ingest_stats *s,
                          double secs)
{
    if (io->json) {
        printf("{\"format\":1,\"lines\":%" PRIu64 ",\"appended\":%" PRIu64 ",\"skipped\":%" PRIu64
               ",\"rejected\":%" PRIu64 ",\"blank\":%" PRIu64 ",\"first_lsn\":%" PRIu64
               ",\"last_lsn\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f}\n",
               s->lines, s->appended, s->skipped, s->rejected, s->blank, s->first_lsn, s->last_lsn,
               s->bytes, secs);
        return;
    }
    if (cli->quiet)
        return;
    fprintf(stderr,
            "ingest: %" PRIu64 " lines: %" PRIu64 " stored (LSN %" PRIu64 "..%" PRIu64 "), %" PRIu64
            " non-dispatch skipped, %" PRIu64 " rejected, %" PRIu64 " blank; %.1f MB in %.2f s"
            " (%.1f MB/s)\n",
            s->lines, s->appended, s->first_lsn, s->last_lsn, s->skipped, s->rejected, s->blank,
            (double)s->bytes / 1e6, secs, secs > 0 ? (double)s->bytes / 1e6 / secs : 0.0);
}

/* Which of the three budget options a is, or -1. */
static int budget_index(const char *a, const char *const opts[3])
{
    for (int k = 0; k < 3; k++)
        if (strcmp(a, opts[k]) == 0)
            return k;
    return -1;
}

int cmd_ingest(gs_cli *cli, int argc, char **argv)
{
    struct ingest_opts io = {-1, 0, 0};
    gs_durability dur = GS_DURABILITY_BATCH;
    uint64_t max_frame = 64u << 20, max_depth = 256, seg_bytes = 0, batch_ms = 0;
    uint64_t budget_mb[3] = {0, 0, 0}; /* entity cache, block cache, write buffers */
    gs_views_compression comp = GS_VIEWS_COMPRESSION_DEFAULT;
    static const char *const budget_opt[3] = {"--entity-cache-mb", "--block-cache-mb",
                                              "--write-buffer-mb"};
    int nfiles = 0;
    char **files = calloc((size_t)argc + 1, sizeof(char *));
    if (!files)
        return gs_cli_fail(GS_ENOMEM, "ingest", NULL);
    int ec = 0;
    for (int i = 1; i < argc && !ec; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            free(files);
            return GS_EXIT_OK;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli->quiet = 1;
            cli->progress = 0;
        } else if (strcmp(a, "--strict") == 0) {
            io.strict = 1;
        } else if (strcmp(a, "--json") == 0) {
            io.json = 1;
        } else if (strcmp(a, "--shard") == 0 && v && gs_cli_parse_u64(v, &n) == 0 && n <= 65535) {
            io.shard = (int32_t)n;
            i++;
        } else if (strcmp(a, "--durability") == 0 && v && parse_durability(v, &dur) == 0) {
            i++;
        } else if (strcmp(a, "--max-frame-bytes") == 0 && v &&
                   gs_cli_parse_u64(v, &max_frame) == 0) {
            i++;
        } else if (strcmp(a, "--max-depth") == 0 && v && gs_cli_parse_u64(v, &max_depth) == 0) {
            i++;
        } else if (strcmp(a, "--segment-bytes") == 0 && v && gs_cli_parse_u64(v, &seg_bytes) == 0) {
            i++;
        } else if (strcmp(a, "--batch-ms") == 0 && v && gs_cli_parse_u64(v, &batch_ms) == 0 &&
                   batch_ms > 0 && batch_ms <= 60000) {
            i++;
        } else if (budget_index(a, budget_opt) >= 0 && v && gs_cli_parse_u64(v, &n) == 0 &&
                   n >= 1 && n <= (1u << 20)) {
            budget_mb[budget_index(a, budget_opt)] = n;
            i++;
        } else if (strcmp(a, "--views-compression") == 0 && v &&
                   gs_cli_parse_compression(v, &comp) == 0) {
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "gatestore ingest: bad option or value: %s\n\n%s", a, usage);
            ec = GS_EXIT_USAGE;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (ec) {
        free(files);
        return ec;
    }
    if (nfiles == 0)
        files[nfiles++] = "-";

    gs_options *o = NULL;
    int rc = gs_options_create(&o);
    if (rc == GS_OK)
        rc = gs_options_set_durability(o, dur);
    if (rc == GS_OK)
        rc = gs_options_set_max_frame_bytes(o, max_frame);
    if (rc == GS_OK)
        rc = gs_options_set_max_depth(o, max_depth > UINT32_MAX ? 0 : (uint32_t)max_depth);
    if (rc == GS_OK && seg_bytes)
        rc = gs_options_set_segment_bytes(o, seg_bytes);
    if (rc == GS_OK && batch_ms)
        rc = gs_options_set_batch(o, (uint32_t)batch_ms, 4u << 20);
    if (rc == GS_OK)
        rc = gs_options_set_views_memory(o, budget_mb[0] << 20, budget_mb[1] << 20,
                                         budget_mb[2] << 20);
    if (rc == GS_OK)
        rc = gs_options_set_views_compression(o, comp);
    if (rc) {
        gs_options_destroy(o);
        free(files);
        return gs_cli_fail(rc, "ingest",
                           "bad limit (--max-frame-bytes 64..536870912, --max-depth 2..100000, "
                           "--segment-bytes >= 65536)");
    }
    gs_store *st = NULL;
    rc = gs_store_open(cli->store_path, o, &st);
    gs_options_destroy(o);
    if (rc) {
        free(files);
        return gs_cli_fail(rc, cli->store_path, gs_open_errmsg());
    }
    report_recovery(st);

    struct ingest_stats s;
    memset(&s, 0, sizeof(s));
    uint64_t t0 = gs_mono_ns();
    int stop = 0;
    for (int f = 0; f < nfiles && !stop; f++) {
        int fd;
        if (open_input(files[f], &fd) != 0) {
            stop = gs_cli_fail(gs_errno_code(errno), files[f], strerror(errno));
            break;
        }
        stop = ingest_fd(cli, st, files[f], fd, &io, &s, t0, max_frame);
        if (fd != STDIN_FILENO)
            close(fd);
    }
    if (cli->progress)
        fputc('\n', stderr);
    rc = gs_store_close(st); /* flushes and fsyncs */
    double secs = (double)(gs_mono_ns() - t0) / 1e9;
    free(files);
    if (rc && !stop)
        stop = gs_cli_fail(rc, "ingest: closing the store", gs_open_errmsg());
    print_summary(cli, &io, &s, secs);
    if (stop)
        return stop;
    return s.rejected ? GS_EXIT_REJECTED : GS_EXIT_OK;
}
