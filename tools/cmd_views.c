/* cmd_views.c - `gatestore views status|rebuild`. */
#include "gs_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: gatestore [-C STORE] views status [--json]\n"
    "       gatestore [-C STORE] views rebuild [--views-compression auto|zstd|lz4] [--json]\n"
    "       gatestore [-C STORE] views rules [--keep TYPES | --drop TYPES] [--json]\n"
    "\n"
    "status   head LSN of the log, the views' watermark (last LSN applied), lag,\n"
    "         view schema version, the kept entity types, and the records the\n"
    "         views could not apply (with LSN and reason; the log keeps them).\n"
    "rebuild  drop the views and replay the whole log into them (needs the writer\n"
    "         lock). Prints the time taken. --views-compression sets how members,\n"
    "         users and presences are compressed (zstd: smallest; lz4: faster\n"
    "         point reads once they outgrow the caches; auto, new stores' default:\n"
    "         zstd, then lz4 once they pass half the entity cache budget). Stored\n"
    "         with the views; the files written from then on use it.\n"
    "rules    print which entity types the views keep; with --keep or --drop,\n"
    "         change that and rebuild the views from the log (needs the writer\n"
    "         lock). The rules are stored with the views and hold until changed.\n"
    "         TYPES: comma-separated names (guild,channel,thread,role,member,\n"
    "         user,emoji,sticker,voice_state,presence,stage_instance,\n"
    "         scheduled_event) or all.\n";

static void print_status(const gs_views_status *s, gs_views_compression comp,
                         gs_views_compression now, int json)
{
    if (json) {
        printf("{\"format\":1,\"head_lsn\":%" PRIu64 ",\"watermark\":%" PRIu64 ",\"lag\":%" PRIu64
               ",\"schema_version\":%u,\"types_kept\":[",
               s->head_lsn, s->watermark, s->lag, s->schema_version);
        int first = 1;
        for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++)
            if (s->types_kept & GS_VIEW_BIT(t)) {
                printf("%s\"%s\"", first ? "" : ",", gs_view_type_name(t));
                first = 0;
            }
        printf("],\"current_user_id\":");
        if (s->current_user_id)
            printf("\"%" PRIu64 "\"", s->current_user_id);
        else
            printf("null");
        printf(",\"failed_records\":%" PRIu64 ",\"failures\":[", s->failed_records);
        for (uint32_t i = 0; i < s->nfailures; i++) {
            printf("%s{\"lsn\":%" PRIu64 ",\"t\":", i ? "," : "", s->failures[i].lsn);
            gs_cli_json_str(stdout, s->failures[i].event, strlen(s->failures[i].event));
            printf(",\"reason\":");
            gs_cli_json_str(stdout, s->failures[i].reason, strlen(s->failures[i].reason));
            printf("}");
        }
        printf("],\"compression\":\"%s\",\"compression_now\":\"%s\",\"rebuilt_on_open\":%s}\n",
               gs_cli_compression_name(comp), gs_cli_compression_name(now),
               s->rebuilt_on_open ? "true" : "false");
        return;
    }
    printf("head lsn:        %" PRIu64 "\n", s->head_lsn);
    printf("watermark:       %" PRIu64 "\n", s->watermark);
    printf("lag:             %" PRIu64 "\n", s->lag);
    printf("schema version:  %u\n", s->schema_version);
    printf("types kept:     ");
    for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++)
        if (s->types_kept & GS_VIEW_BIT(t))
            printf(" %s", gs_view_type_name(t));
    printf("\ncurrent user:    %" PRIu64 "\n", s->current_user_id);
    printf("compression:     %s, %s now (members, users, presences)\n",
           gs_cli_compression_name(comp), gs_cli_compression_name(now));
    printf("failed records:  %" PRIu64 "\n", s->failed_records);
    for (uint32_t i = 0; i < s->nfailures; i++)
        printf("  lsn %" PRIu64 " %s: %s\n", s->failures[i].lsn, s->failures[i].event,
               s->failures[i].reason);
    if (s->rebuilt_on_open)
        printf("rebuilt on open: %s\n", s->rebuild_reason);
}

static void print_types_json(uint32_t mask)
{
    int first = 1;
    putchar('[');
    for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++)
        if (mask & GS_VIEW_BIT(t)) {
            printf("%s\"%s\"", first ? "" : ",", gs_view_type_name(t));
            first = 0;
        }
    putchar(']');
}

static void print_types(uint32_t mask)
{
    int any = 0;
    for (int t = 0; t < GS_VIEW_TYPE_COUNT; t++)
        if (mask & GS_VIEW_BIT(t)) {
            printf(" %s", gs_view_type_name(t));
            any = 1;
        }
    if (!any)
        printf(" (none)");
    putchar('\n');
}

static void print_rules(const gs_views_status *s, int json)
{
    uint32_t dropped = GS_VIEW_ALL & ~s->types_kept;
    if (json) {
        printf("{\"format\":1,\"kept\":");
        print_types_json(s->types_kept);
        printf(",\"dropped\":");
        print_types_json(dropped);
        printf(",\"rebuilt_on_open\":%s,\"rebuild_reason\":",
               s->rebuilt_on_open ? "true" : "false");
        gs_cli_json_str(stdout, s->rebuild_reason, strlen(s->rebuild_reason));
        printf("}\n");
        return;
    }
    printf("kept:   ");
    print_types(s->types_kept);
    printf("dropped:");
    print_types(dropped);
    if (s->rebuilt_on_open)
        printf("rebuilt: %s\n", s->rebuild_reason);
}

int cmd_views(gs_cli *cli, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "gatestore views: missing subcommand (status or rebuild)\n\n%s", usage);
        return GS_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        fputs(usage, stdout);
        return GS_EXIT_OK;
    }
    int json = 0, is_rules = strcmp(sub, "rules") == 0, set_rules = 0, r;
    uint32_t rules = GS_VIEW_ALL;
    gs_views_compression comp = GS_VIEWS_COMPRESSION_DEFAULT;
    int rebuild = strcmp(sub, "rebuild") == 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return GS_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (rebuild && strcmp(argv[i], "--views-compression") == 0 && i + 1 < argc &&
                   gs_cli_parse_compression(argv[i + 1], &comp) == 0) {
            i++;
        } else if (is_rules && !set_rules &&
                   (r = gs_cli_rules_arg("views rules", argc, argv, &i, &rules)) != 0) {
            if (r < 0)
                return GS_EXIT_USAGE;
            set_rules = 1;
        } else {
            fprintf(stderr, "gatestore views: bad option %s\n\n%s", argv[i], usage);
            return GS_EXIT_USAGE;
        }
    }
    if (!rebuild && !is_rules && strcmp(sub, "status") != 0) {
        fprintf(stderr, "gatestore views: unknown subcommand %s\n\n%s", sub, usage);
        return GS_EXIT_USAGE;
    }
    gs_store *st = NULL;
    gs_options *o = NULL;
    int ec, rc = gs_options_create(&o);
    if (rc == GS_OK)
        rc = gs_options_set_read_only(o, !rebuild && !set_rules);
    /* New rules take effect by opening the store with them: the open
     * rebuilds the views and reports why. */
    if (rc == GS_OK && set_rules)
        rc = gs_options_set_view_rules(o, rules);
    if (rc == GS_OK)
        rc = gs_options_set_views_compression(o, comp);
    ec = rc ? gs_cli_fail(rc, "views", NULL) : gs_cli_open_opts(cli, o, &st);
    gs_options_destroy(o);
    if (ec)
        return ec;
    gs_views_status s;
    double secs = 0;
    if (rebuild) {
        uint64_t t0 = gs_mono_ns();
        rc = gs_views_rebuild(st);
        secs = (double)(gs_mono_ns() - t0) / 1e9;
    }
    gs_views_compression comp_now = GS_VIEWS_COMPRESSION_ZSTD, written = comp_now;
    if (rc == GS_OK)
        rc = gs_views_status_get(st, &s);
    if (rc == GS_OK)
        rc = gs_views_compression_get(st, &comp_now);
    if (rc == GS_OK)
        rc = gs_views_compression_now(st, &written);
    if (rc) {
        ec = gs_cli_fail(rc, rebuild ? "views rebuild" : "views", gs_store_errmsg(st));
        gs_store_close(st);
        return ec;
    }
    if (rebuild && !json && !cli->quiet)
        fprintf(stderr, "views rebuilt from the log: %" PRIu64 " records in %.2f s\n", s.watermark,
                secs);
    if (is_rules)
        print_rules(&s, json);
    else
        print_status(&s, comp_now, written, json);
    rc = gs_store_close(st);
    return rc ? gs_cli_fail(rc, "close", gs_open_errmsg()) : GS_EXIT_OK;
}
