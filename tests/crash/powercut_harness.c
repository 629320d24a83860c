/*
 * powercut_harness.c - simulated power cuts (gatestore-powercut).
 *
 * Each round opens the store through the power-cut io
 * (tests/support_powercut_io.h), ingests a random number of input lines and
 * records what was acknowledged: in SYNC mode each returned LSN, in BATCH
 * and OFF mode gs_store_durable_lsn(). At a random call (during ingest, or with a
 * smaller chance during the open and its recovery) the io stops: every
 * later call fails with EIO. Then the disk is rewritten as a power cut
 * could leave it (unsynced bytes dropped, a suffix dropped, or random 4 KiB
 * pages kept; files and renames not covered by a directory fsync undone),
 * the store is closed, and reopened with the real io, which must:
 *   - succeed (recovery copes with whatever the cut left);
 *   - hold every acknowledged LSN, with no hole below the head;
 *   - hold exactly the right bytes: input lines map to LSNs one to one
 *     (dispatch frames only), so LSN k holds line (k - 1) mod nlines;
 *   - pass `log verify`.
 * A failing run replays exactly with the same --seed and options.
 *
 * Usage: gatestore-powercut --store DIR --input FILE [--rounds N] [--seed S]
 *          [--durability sync|batch|off|mixed] [--mode drop-all|drop-suffix|
 *          keep-pages|mixed] [--max-lines N] [--fresh-every N] [--views] [-v]
 *
 * The store is log-only (views off) unless --views: then views are kept
 * too and, after the reopen, must be level with the log and equal a
 * rebuild from it (the crash harness's check). RocksDB does its own I/O,
 * so the cut does not reach the views' files: they keep what the process
 * applied while the log shows a power cut, and may be ahead of it (counted;
 * the reopen must wipe and rebuild them).
 */
#include "gs_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash_views.h"
#include "store_priv.h"
#include "support_powercut_io.h"
#include "crash_input.h"
#include "views.h"

struct opts {
    const char *store;
    uint64_t rounds, seed, max_lines, fresh_every;
    int durability; /* -1 = mixed */
    int mode;       /* -1 = mixed */
    int verbose;
    int views;
};

struct stats {
    uint64_t rounds, by_mode[PC_NMODES], by_dur[3], open_cuts;
    uint64_t acked_checked; /* acknowledged LSNs checked after cuts */
    uint64_t unacked_kept;  /* LSNs above the acknowledged mark that survived */
    uint64_t unacked_lost;  /* appended (not acknowledged) LSNs the cut took */
    uint64_t recov_truncated;
    uint64_t bytes_lost, pages_dropped, creates_undone, renames_undone, unlinks_undone;
    uint64_t records_read;
    uint64_t views_ahead; /* --views: cuts that left the views ahead of the log */
};

/* Small blocks and segments: several blocks in flight in BATCH and OFF
 * mode, and cuts that land in rolls and segment creation. tiny_segments
 * goes below the public 64 KiB minimum (through the internal struct) so
 * that a roll comes every few lines. */
static int with_views; /* --views */

static gs_options *make_opts(int durability, int create, int tiny_segments)
{
    gs_options *o = NULL;
    gs_options_create(&o);
    gs_options_set_create(o, create);
    gs_options_set_durability(o, (gs_durability)durability);
    gs_options_set_batch(o, 2, 64 << 10);
    gs_options_set_segment_bytes(o, 64 << 10);
    gs_options_set_block_bytes(o, 4 << 10);
    gs_options_set_views(o, with_views);
    if (tiny_segments)
        o->segment_bytes = 4096; /* the log's minimum */
    return o;
}

static void rm_rf(const char *path)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "powercut: cannot remove %s\n", path);
}

/* 1 if the views' watermark is past the log's last good LSN. */
static int views_ahead(const char *store)
{
    char vdir[GS_ERRMSG_MAX], ldir[GS_ERRMSG_MAX];
    snprintf(vdir, sizeof(vdir), "%s/views", store);
    snprintf(ldir, sizeof(ldir), "%s/log", store);
    gs_views *v = NULL;
    gs_err err;
    if (gs_views_open_readonly(vdir, &v, &err) != GS_OK)
        return 0;
    uint64_t wm = gs_views_watermark(v);
    gs_views_close(v, &err);
    gs_log_stats ls;
    return gs_log_stat_dir(ldir, NULL, &ls, &err) == GS_OK && wm > ls.last_lsn;
}

/* Reopen with the real io and check the log; 0 ok, -1 with a message. */
static int check(const struct opts *o, const struct input *in, uint64_t round, uint64_t acked,
                 uint64_t appended, struct stats *s)
{
    gs_options *op = make_opts(GS_DURABILITY_SYNC, 0, 0);
    gs_store *st = NULL;
    int rc = gs_store_open(o->store, op, &st);
    gs_options_destroy(op);
    if (rc) {
        fprintf(stderr, "round %" PRIu64 ": reopen failed: %s: %s\n", round, gs_errname(rc),
                gs_open_errmsg());
        return -1;
    }
    gs_recovery_report rr;
    if (gs_store_recovery_report(st, &rr) == GS_OK && rr.truncated)
        s->recov_truncated++;
    uint64_t head = gs_store_head_lsn(st);
    int bad = 0;
    if (head < acked) {
        fprintf(stderr, "round %" PRIu64 ": head %" PRIu64 " < acknowledged %" PRIu64 "\n", round,
                head, acked);
        bad = 1;
    }
    gs_log_iter *it = NULL;
    rc = gs_log_iter_open(st, NULL, &it);
    uint64_t expect = 1;
    gs_record r;
    while (!bad && rc == GS_OK && (rc = gs_log_iter_next(it, &r)) == 1) {
        size_t i = (size_t)((r.lsn - 1) % in->n);
        if (r.lsn != expect) {
            fprintf(stderr, "round %" PRIu64 ": hole: LSN %" PRIu64 " after %" PRIu64 "\n", round,
                    r.lsn, expect - 1);
            bad = 1;
        } else if (r.raw_len != in->line_len[i] || memcmp(r.raw, in->line[i], r.raw_len)) {
            fprintf(stderr, "round %" PRIu64 ": LSN %" PRIu64 " bytes differ from line %zu\n",
                    round, r.lsn, i + 1);
            bad = 1;
        }
        expect++;
        rc = GS_OK;
    }
    if (rc < 0) {
        fprintf(stderr, "round %" PRIu64 ": read: %s: %s\n", round, gs_errname(rc),
                it ? gs_log_iter_errmsg(it) : gs_store_errmsg(st));
        bad = 1;
    }
    gs_log_iter_close(it);
    s->records_read += expect - 1;
    if (!bad && expect - 1 != head) {
        fprintf(stderr, "round %" PRIu64 ": read %" PRIu64 " records, head is %" PRIu64 "\n", round,
                expect - 1, head);
        bad = 1;
    }
    if (!bad) {
        gs_verify_summary sum;
        rc = gs_log_verify(st, NULL, NULL, &sum);
        if (rc != GS_OK) {
            fprintf(stderr, "round %" PRIu64 ": log verify: %s: %s\n", round, gs_errname(rc),
                    gs_store_errmsg(st));
            bad = 1;
        }
    }
    if (!bad && o->views && gs_crash_check_views(st, head, round) != 0)
        bad = 1;
    if (!bad) {
        s->acked_checked += acked;
        s->unacked_kept += head - acked;
        s->unacked_lost += appended > head ? appended - head : 0;
    }
    gs_store_close(st);
    return bad ? -1 : 0;
}

static const char *dur_name(int d)
{
    return d == GS_DURABILITY_SYNC ? "sync" : d == GS_DURABILITY_BATCH ? "batch" : "off";
}

/* One round: open through the power-cut io, ingest, cut, check. */
static int round_run(const struct opts *o, const struct input *in, uint64_t round, uint64_t *rng,
                     uint64_t *open_calls, struct stats *s)
{
    int dur = o->durability >= 0 ? o->durability : (int)(rng_next(rng) % 3);
    int tiny = rng_next(rng) & 1;
    pc_mode mode = o->mode >= 0 ? (pc_mode)o->mode : (pc_mode)(rng_next(rng) % PC_NMODES);
    uint64_t lines = 1 + rng_next(rng) % o->max_lines;
    int cut_in_open = rng_next(rng) % 8 == 0;
    /* One round in four aims at a namespace change (segment creation in a
     * roll: a create and a rename each). */
    int cut_at_ns = !cut_in_open && rng_next(rng) % 4 == 0;
    uint64_t ns_k = 1 + rng_next(rng) % 4, ns_extra = rng_next(rng) % 3;
    uint64_t cut_at = 1 + rng_next(rng) % (cut_in_open ? *open_calls : 3 * lines + 8);
    powercut_io *p = powercut_io_create(NULL, rng_next(rng));
    if (!p)
        return -1;
    uint64_t stop_at = cut_at; /* absolute call number */
    if (cut_in_open) {
        powercut_io_fail_after(p, stop_at);
        s->open_cuts++;
    }
    gs_options *op = make_opts(dur, 0, tiny);
    gs_store *st = NULL;
    int orc = gs_store_open_io(o->store, op, powercut_io_get(p), &st);
    gs_options_destroy(op);
    uint64_t acked = 0, appended = 0;
    if (orc == GS_OK) {
        uint64_t head = gs_store_head_lsn(st);
        acked = appended = head; /* recovery fsynced what it kept */
        if (cut_at_ns) {
            stop_at = UINT64_MAX;
            powercut_io_fail_after_ns(p, ns_k, ns_extra);
        } else if (!cut_in_open) {
            *open_calls = powercut_io_calls(p) + 1;
            stop_at = powercut_io_calls(p) + cut_at;
            powercut_io_fail_after(p, stop_at);
        }
        for (uint64_t k = 0; k < lines; k++) {
            size_t i = (size_t)((head + k) % in->n);
            uint64_t lsn = 0;
            int rc = gs_ingest_line(st, in->line[i], in->line_len[i], NULL, &lsn);
            if (rc != GS_OK)
                break;
            if (lsn != head + k + 1) {
                fprintf(stderr, "round %" PRIu64 ": got LSN %" PRIu64 ", expected %" PRIu64 "\n",
                        round, lsn, head + k + 1);
                return -1;
            }
            appended = lsn;
            uint64_t a = dur == GS_DURABILITY_SYNC ? lsn : gs_store_durable_lsn(st);
            acked = a > acked ? a : acked;
        }
        /* The machine stops now if it has not already. */
        uint64_t now = powercut_io_calls(p);
        powercut_io_fail_after(p, now < stop_at ? now : stop_at);
        uint64_t d = gs_store_durable_lsn(st);
        acked = d > acked ? d : acked;
    } else if (!cut_in_open) {
        fprintf(stderr, "round %" PRIu64 ": open without a cut failed: %s: %s\n", round,
                gs_errname(orc), gs_open_errmsg());
        return -1;
    }
    pc_report rep;
    if (powercut_io_cut(p, mode, &rep) != 0) {
        fprintf(stderr, "round %" PRIu64 ": the simulated cut failed\n", round);
        return -1;
    }
    gs_store_close(st); /* every call fails now: nothing more reaches the disk */
    powercut_io_destroy(p);
    s->rounds++;
    s->by_mode[mode]++;
    s->by_dur[dur]++;
    s->bytes_lost += rep.bytes_lost;
    s->pages_dropped += rep.pages_dropped;
    s->creates_undone += rep.creates_undone;
    s->renames_undone += rep.renames_undone;
    s->unlinks_undone += rep.unlinks_undone;
    if (o->verbose)
        fprintf(stderr,
                "round %" PRIu64 ": %s %s%s, %" PRIu64 " lines, acked %" PRIu64
                ", appended %" PRIu64 ", %" PRIu64 " bytes lost\n",
                round, dur_name(dur), pc_mode_name(mode), cut_in_open ? " (cut in open)" : "",
                lines, acked, appended, rep.bytes_lost);
    /* The views are outside the simulation (RocksDB writes on its own):
     * they keep everything the process applied, the log loses what the cut
     * took, so they may be ahead of it now. The reopen must notice and
     * rebuild them (checked in check()). */
    if (o->views && views_ahead(o->store))
        s->views_ahead++;
    return check(o, in, round, acked, appended, s);
}

static int create_store(const char *path)
{
    gs_options *op = make_opts(GS_DURABILITY_SYNC, 1, 0);
    gs_store *st = NULL;
    int rc = gs_store_open(path, op, &st);
    gs_options_destroy(op);
    if (rc) {
        fprintf(stderr, "powercut: cannot create %s: %s\n", path, gs_open_errmsg());
        return -1;
    }
    return gs_store_close(st) == GS_OK ? 0 : -1;
}

static int run(const struct opts *o, const struct input *in)
{
    struct stats s;
    memset(&s, 0, sizeof(s));
    uint64_t rng = o->seed, open_calls = 64;
    uint64_t t0 = gs_mono_ns();
    for (uint64_t round = 1; round <= o->rounds; round++) {
        if (round == 1 || (o->fresh_every && (round - 1) % o->fresh_every == 0)) {
            rm_rf(o->store);
            if (create_store(o->store) != 0)
                return 1;
        }
        if (round_run(o, in, round, &rng, &open_calls, &s) != 0) {
            fprintf(stderr,
                    "powercut: FAILED at round %" PRIu64 " (replay: --seed %" PRIu64
                    " with the same options)\n",
                    round, o->seed);
            return 1;
        }
    }
    double secs = (double)(gs_mono_ns() - t0) / 1e9;
    printf("powercut: %" PRIu64 " power cuts (%" PRIu64 " sync, %" PRIu64 " batch, %" PRIu64
           " off; %" PRIu64 " drop-all, %" PRIu64 " drop-suffix, %" PRIu64 " keep-pages; %" PRIu64
           " during open/recovery)\n",
           s.rounds, s.by_dur[GS_DURABILITY_SYNC], s.by_dur[GS_DURABILITY_BATCH],
           s.by_dur[GS_DURABILITY_OFF], s.by_mode[PC_DROP_ALL], s.by_mode[PC_DROP_SUFFIX],
           s.by_mode[PC_KEEP_PAGES], s.open_cuts);
    printf("powercut: %" PRIu64
           " acknowledged LSNs checked after cuts (summed over rounds), 0 lost, 0 holes, "
           "0 failed reopen, 0 verify failures; %" PRIu64 " records read back byte-exact\n",
           s.acked_checked, s.records_read);
    printf("powercut: the cuts dropped %" PRIu64 " unsynced bytes (%" PRIu64
           " pages), undid %" PRIu64 " creates, %" PRIu64 " renames, %" PRIu64
           " unlinks; unacknowledged records: %" PRIu64 " survived, %" PRIu64
           " lost; recovery cut a torn tail %" PRIu64 " times (%.1f s, seed %" PRIu64 ")\n",
           s.bytes_lost, s.pages_dropped, s.creates_undone, s.renames_undone, s.unlinks_undone,
           s.unacked_kept, s.unacked_lost, s.recov_truncated, secs, o->seed);
    if (o->views)
        printf("powercut: views kept; %" PRIu64 " cuts left them ahead of the log, every reopen "
               "brought them level with it and equal to a rebuild\n",
               s.views_ahead);
    printf("%" PRIu64 " passed, 0 failed\n", s.rounds);
    return 0;
}

static const char usage[] =
    "usage: gatestore-powercut --store DIR --input FILE [--rounds N] [--seed S]\n"
    "         [--durability sync|batch|off|mixed] [--mode drop-all|drop-suffix|keep-pages|mixed]\n"
    "         [--max-lines N] [--fresh-every N] [--views] [-v]\n";

int main(int argc, char **argv)
{
    struct opts o = {
        .rounds = 100, .seed = 1, .max_lines = 40, .fresh_every = 50, .durability = -1, .mode = -1};
    const char *input = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--store") == 0 && v)
            o.store = argv[++i];
        else if (strcmp(a, "--input") == 0 && v)
            input = argv[++i];
        else if (strcmp(a, "--rounds") == 0 && v)
            o.rounds = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--seed") == 0 && v)
            o.seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--max-lines") == 0 && v)
            o.max_lines = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--fresh-every") == 0 && v)
            o.fresh_every = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "-v") == 0)
            o.verbose = 1;
        else if (strcmp(a, "--views") == 0)
            o.views = with_views = 1;
        else if (strcmp(a, "--durability") == 0 && v) {
            i++;
            o.durability = !strcmp(v, "sync")    ? GS_DURABILITY_SYNC
                           : !strcmp(v, "batch") ? GS_DURABILITY_BATCH
                           : !strcmp(v, "off")   ? GS_DURABILITY_OFF
                           : !strcmp(v, "mixed") ? -1
                                                 : -2;
            if (o.durability == -2) {
                fputs(usage, stderr);
                return 2;
            }
        } else if (strcmp(a, "--mode") == 0 && v) {
            i++;
            o.mode = -2;
            for (int m = 0; m < PC_NMODES; m++)
                if (!strcmp(v, pc_mode_name((pc_mode)m)))
                    o.mode = m;
            if (!strcmp(v, "mixed"))
                o.mode = -1;
            if (o.mode == -2) {
                fputs(usage, stderr);
                return 2;
            }
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!o.store || !input || o.max_lines == 0) {
        fputs(usage, stderr);
        return 2;
    }
    struct input in;
    memset(&in, 0, sizeof(in));
    if (load_input(input, &in) != 0) {
        fprintf(stderr, "powercut: cannot read %s (or it is empty)\n", input);
        return 2;
    }
    int rc = run(&o, &in);
    input_free(&in);
    return rc;
}
