/* cmd_tail.c - `gatestore tail`: print the newest stored frames and, with
 * --follow, every frame appended after them, as another process ingests.
 * A read-only subscription (gs_subscribe) does the following: frames come
 * in LSN order, each once. Output is `log cat`'s (cli_record.c). */
#include "gs_common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
    "usage: gatestore [-C STORE] tail [--from LSN | --since TIME | -n N] [--follow] [--confirm]\n"
    "                                 [--event NAME]... [--guild G] [--json]\n"
    "\n"
    "Print stored frames in LSN order, one a line, byte for byte as received (as `log cat`;\n"
    "--json wraps each as {\"format\":1,\"lsn\":..,\"received_at\":..,\"shard\":..,\"s\":..,\n"
    "\"t\":..,\"frame\":<original bytes>}).\n"
    "\n"
    "  --from LSN     start at this LSN\n"
    "  --since TIME   start at the first frame received at or after TIME (RFC 3339 or\n"
    "                 unix ms; a filter over the whole log)\n"
    "  -n N           start N frames before the end of the log (default 10)\n"
    "  --follow       keep printing frames as they are appended, until interrupted\n"
    "                 (SIGINT, SIGTERM) or the reader goes away (SIGPIPE); exit 0\n"
    "  --confirm      print a frame only once the writer's views have applied it (the\n"
    "                 writer publishes its watermark in STORE/watermark)\n"
    "  --event NAME   only frames with this event name (repeatable)\n"
    "  --guild G      only frames of this guild (d.guild_id, or d.id for GUILD_*)\n"
    "  --json         one JSON object per frame\n"
    "\n"
    "Without --follow, tail stops at the head the log had when it started.\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct tail_ctx {
    int json, follow;
    uint64_t end;     /* without --follow: the last LSN to print */
    int write_failed; /* EPIPE or another write error */
    int write_errno;
};

static void on_event(void *ud, const gs_event *ev)
{
    struct tail_ctx *c = ud;
    if (!ev || c->write_failed)
        return; /* the main loop reads the status */
    if (!c->follow && ev->lsn > c->end)
        return;
    gs_record r = {ev->lsn,   ev->recv_us,   ev->shard, 0,          ev->seq,
                   ev->event, ev->event_len, ev->raw,   ev->raw_len};
    gs_cli_print_record(stdout, &r, c->json);
    if (c->follow)
        fflush(stdout); /* a reader at the other end sees each frame now */
    if (ferror(stdout)) {
        c->write_failed = 1;
        c->write_errno = errno;
    }
}

struct tail_args {
    uint64_t from, last_n, guild;
    int has_from, has_since, has_n;
    int64_t since_us;
    int confirm;
    const char *events[64];
    size_t nevents;
};

/* 0 ok, -1 --help printed, else the usage exit code. */
static int parse_args(int argc, char **argv, struct tail_args *a, struct tail_ctx *c)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            fputs(usage, stdout);
            return -1;
        } else if (strcmp(o, "--follow") == 0 || strcmp(o, "-f") == 0) {
            c->follow = 1;
            takes = 0;
        } else if (strcmp(o, "--confirm") == 0) {
            a->confirm = 1;
            takes = 0;
        } else if (strcmp(o, "--json") == 0) {
            c->json = 1;
            takes = 0;
        } else if (strcmp(o, "--from") == 0) {
            if (!v || gs_cli_parse_u64(v, &a->from) != 0 || a->from == 0)
                goto bad_value;
            a->has_from = 1;
        } else if (strcmp(o, "--since") == 0) {
            if (!v || gs_cli_parse_time(v, &a->since_us) != 0)
                goto bad_value;
            a->has_since = 1;
        } else if (strcmp(o, "-n") == 0) {
            if (!v || gs_cli_parse_u64(v, &a->last_n) != 0)
                goto bad_value;
            a->has_n = 1;
        } else if (strcmp(o, "--guild") == 0) {
            if (!v || gs_cli_parse_u64(v, &a->guild) != 0 || a->guild == 0)
                goto bad_value;
        } else if (strcmp(o, "--event") == 0) {
            if (!v || !*v || a->nevents >= GS_ARRAY_LEN(a->events))
                goto bad_value;
            a->events[a->nevents++] = v;
        } else {
            fprintf(stderr, "gatestore tail: unknown option %s\n\n%s", o, usage);
            return GS_EXIT_USAGE;
        }
        i += takes;
        continue;
    bad_value:
        fprintf(stderr, "gatestore tail: bad or missing value for %s\n\n%s", o, usage);
        return GS_EXIT_USAGE;
    }
    if (a->has_from + a->has_since + a->has_n > 1) {
        fprintf(stderr, "gatestore tail: --from, --since and -n exclude each other\n\n%s", usage);
        return GS_EXIT_USAGE;
    }
    return 0;
}

static int make_options(const struct tail_args *a, uint64_t head, gs_sub_options **out)
{
    gs_sub_options *o = NULL;
    int rc = gs_sub_options_create(&o);
    for (size_t i = 0; rc == GS_OK && i < a->nevents; i++)
        rc = gs_sub_options_add_event(o, a->events[i]);
    if (rc == GS_OK && a->guild)
        rc = gs_sub_options_set_guild(o, a->guild);
    uint64_t from = 1;
    if (a->has_from)
        from = a->from;
    else if (!a->has_since) {
        uint64_t n = a->has_n ? a->last_n : 10;
        from = head >= n ? head - n + 1 : 1;
    }
    if (rc == GS_OK)
        rc = gs_sub_options_set_from(o, from);
    if (rc == GS_OK && a->has_since)
        rc = gs_sub_options_set_since(o, a->since_us);
    /* The reader is the only consumer of its own queue: no bound needed
     * beyond the default, and nothing appends through this handle. */
    if (rc) {
        gs_sub_options_destroy(o);
        return rc;
    }
    *out = o;
    return GS_OK;
}

int cmd_tail(gs_cli *cli, int argc, char **argv)
{
    struct tail_args a;
    struct tail_ctx c;
    memset(&a, 0, sizeof(a));
    memset(&c, 0, sizeof(c));
    int ec = parse_args(argc, argv, &a, &c);
    if (ec)
        return ec < 0 ? GS_EXIT_OK : ec;
    gs_store *st = NULL;
    ec = gs_cli_open(cli, 1, &st);
    if (ec)
        return ec;
    uint64_t head = gs_store_head_lsn(st);
    c.end = head;
    if (!c.follow && (head == 0 || (a.has_from && a.from > head))) {
        gs_store_close(st);
        return GS_EXIT_OK; /* nothing to print */
    }
    gs_sub_options *o = NULL;
    int rc = make_options(&a, head, &o);
    if (rc) {
        gs_store_close(st);
        return gs_cli_fail(rc, "tail", NULL);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe shows up as EPIPE on write */

    gs_sub *sub = NULL;
    rc = gs_subscribe(st, o, on_event, &c, a.confirm ? GS_SUB_CONFIRM : 0, &sub);
    gs_sub_options_destroy(o);
    if (rc) {
        ec = gs_cli_fail(rc, "tail", gs_store_errmsg(st));
        gs_store_close(st);
        return ec;
    }
    int status = GS_OK;
    while (!interrupted && !c.write_failed) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        gs_sub_stats s;
        gs_sub_stats_get(sub, &s);
        if (s.status != GS_OK) {
            status = s.status;
            break;
        }
        if (!c.follow && s.passed_lsn >= c.end)
            break;
    }
    char msg[GS_ERRMSG_MAX];
    snprintf(msg, sizeof(msg), "%s", gs_sub_errmsg(sub));
    gs_unsubscribe(sub);
    gs_store_close(st);
    if (status != GS_OK)
        return gs_cli_fail(status, "tail", msg);
    if (c.write_failed || fflush(stdout) != 0) {
        if (c.write_errno == EPIPE || errno == EPIPE)
            return GS_EXIT_OK; /* the reader went away: not an error (as with `head`) */
        return gs_cli_fail(GS_EIO, "tail", "cannot write to standard output");
    }
    return GS_EXIT_OK;
}
