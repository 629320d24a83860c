/* support_logtest.c - see support_logtest.h. */
#include "gs_common.h"

#include "support_logtest.h"
#include "log_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *lt_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *p = malloc(n);
    snprintf(p, n, "%s/gs-%s-XXXXXX", base, tag);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        abort();
    }
    return p;
}

void lt_rmrf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = lt_path(path, e->d_name);
            lt_rmrf(p);
            free(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *lt_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

unsigned char *lt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

void lt_write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        perror(path);
        abort();
    }
    fclose(f);
}

void lt_copydir(const char *src, const char *dst)
{
    mkdir(dst, 0755);
    DIR *d = opendir(src);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *s = lt_path(src, e->d_name);
        struct stat st;
        if (stat(s, &st) == 0 && S_ISREG(st.st_mode)) {
            size_t len;
            unsigned char *buf = lt_read_file(s, &len);
            char *t = lt_path(dst, e->d_name);
            lt_write_file(t, buf, len);
            free(t);
            free(buf);
        }
        free(s);
    }
    closedir(d);
}

static uint32_t xs(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

void lt_make(lt_rec *r, unsigned i, unsigned seed, size_t raw_len)
{
    static const char *events[] = {
        "MESSAGE_CREATE", "GUILD_CREATE", "PRESENCE_UPDATE", "", "TYPING_START", NULL};
    memset(r, 0, sizeof(*r));
    uint32_t s = i * 2654435761u + seed * 97u + 1u;
    const char *ev = events[i % 6];
    if (ev) {
        r->event_buf = strdup(ev);
        r->in.event = r->event_buf;
        r->in.event_len = strlen(ev);
    }
    size_t n = raw_len;
    if (!n) {
        switch (i % 7) {
        case 0:
            n = 0;
            break;
        case 1:
            n = 17;
            break;
        case 2:
            n = 300 + xs(&s) % 200;
            break;
        case 3:
            n = 2000 + xs(&s) % 3000;
            break;
        default:
            n = 50 + xs(&s) % 150;
            break;
        }
    }
    r->raw_buf = malloc(n ? n : 1);
    if (i % 5 == 3) {
        for (size_t k = 0; k < n; k++) /* binary bytes, all values */
            r->raw_buf[k] = (unsigned char)xs(&s);
    } else {
        int len =
            snprintf((char *)r->raw_buf, n ? n : 1, "{\"op\":0,\"t\":\"X\",\"s\":%u,\"d\":{", i);
        for (size_t k = len > 0 && (size_t)len < n ? (size_t)len : 0; k < n; k++)
            r->raw_buf[k] = (unsigned char)("abcdefghij\"{}:,0123"[xs(&s) % 19]);
    }
    r->in.raw = (const char *)r->raw_buf;
    r->in.raw_len = n;
    /* Mostly rising times with some going back, like capture envelopes. */
    r->in.recv_us = 1700000000000000LL + (int64_t)i * 1000 - (i % 4 == 2 ? 2500 : 0);
    r->in.shard = i % 3 == 0 ? -1 : (int32_t)(i % 16);
    r->in.seq = i % 4 == 1 ? -1 : (int64_t)i + 1;
    r->in.op = 0;
}

void lt_free(lt_rec *r)
{
    free(r->event_buf);
    free(r->raw_buf);
    memset(r, 0, sizeof(*r));
}

void lt_free_all(lt_rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lt_free(&r[i]);
    free(r);
}

int lt_same(const gs_log_rec *rec, const gs_log_rec_in *want)
{
    if (rec->recv_us != want->recv_us || rec->shard != (want->shard < 0 ? -1 : want->shard) ||
        rec->seq != (want->seq < 0 ? -1 : want->seq) || rec->op != want->op)
        return 0;
    if ((rec->event == NULL) != (want->event == NULL) || rec->event_len != want->event_len)
        return 0;
    if (want->event_len && memcmp(rec->event, want->event, want->event_len))
        return 0;
    if (rec->raw_len != want->raw_len)
        return 0;
    return want->raw_len == 0 || memcmp(rec->raw, want->raw, want->raw_len) == 0;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t lt_segments(const char *dir, char ***names)
{
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof(*v));
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l == 24 && strcmp(e->d_name + 20, ".seg") == 0) {
            if (n == cap)
                v = realloc(v, (cap *= 2) * sizeof(*v));
            v[n++] = strdup(e->d_name);
        }
    }
    if (d)
        closedir(d);
    qsort(v, n, sizeof(*v), cmpstr);
    *names = v;
    return n;
}

void lt_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

size_t lt_scan_blocks(const char *dir, const char *segname, lt_block **out, uint64_t *end)
{
    uint64_t base;
    if (!gs_seg_parse_name(segname, &base))
        abort();
    gs_seg s;
    gs_blkbuf b = {0};
    if (gs_seg_open(gs_io_default(), dir, base, 0, &s, NULL) || s.hdr_rc)
        abort();
    size_t n = 0, cap = 16;
    lt_block *v = malloc(cap * sizeof(*v));
    uint64_t off = s.data_off;
    for (;;) {
        gs_blk_hdr h;
        const char *what;
        if (gs_seg_read_block(&s, off, s.size, &b, &h, &what, NULL) != GS_OK)
            break;
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof(*v));
        v[n++] = (lt_block){off, h.first_lsn, GS_BLK_HDR_LEN + h.comp_len, h.count};
        off += GS_BLK_HDR_LEN + h.comp_len;
    }
    *end = off;
    gs_blkbuf_free(&b);
    gs_seg_close(&s);
    *out = v;
    return n;
}
