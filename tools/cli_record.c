/* cli_record.c - how the commands that print stored frames (`log cat`,
 * `tail`) print one: its original bytes, or with --json a wrapper object.
 * One format, one place: both commands' output is a contract. */
#include "gs_common.h"

#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "timefmt.h"

void gs_cli_print_record(FILE *f, const gs_record *r, int json)
{
    if (!json) {
        fwrite(r->raw, 1, r->raw_len, f);
        fputc('\n', f);
        return;
    }
    char when[40];
    gs_time_format_rfc3339(r->recv_us, when, sizeof(when));
    fprintf(f, "{\"format\":1,\"lsn\":%" PRIu64 ",\"received_at\":\"%s\",\"shard\":", r->lsn, when);
    if (r->shard >= 0)
        fprintf(f, "%d", r->shard);
    else
        fputs("null", f);
    fputs(",\"s\":", f);
    if (r->seq >= 0)
        fprintf(f, "%" PRId64, r->seq);
    else
        fputs("null", f);
    fputs(",\"t\":", f);
    gs_cli_json_str(f, r->event, r->event_len);
    fputs(",\"frame\":", f);
    fwrite(r->raw, 1, r->raw_len, f);
    fputs("}\n", f);
}
