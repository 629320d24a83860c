/* meta.c - read and create STORE/gatestore.meta (see STORE_FORMAT.md). */
#include "gs_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "meta.h"

#define META_NAME  "gatestore.meta"
#define META_MAGIC "gatestore-store"
#define META_MAX   4096

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_decode(const char *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        char c = in[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return in[2 * n] == '\0' || in[2 * n] == '\n' ? 0 : -1;
}

/* The body: every line but the checksum line. */
static int format_body(char *buf, size_t cap, const gs_store_meta *m)
{
    char id[33];
    hex_encode(m->store_id, 16, id);
    return snprintf(buf, cap,
                    META_MAGIC " %u\nstore_id=%s\ncreated_us=%" PRId64 "\nlog_format=1\n"
                               "views_format=1\n",
                    (unsigned)m->format, id, m->created_us);
}

int gs_meta_read(const char *dir, gs_store_meta *m, gs_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/" META_NAME, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return gs_err_set(err, GS_ENOSTORE, "no store at %s (missing %s; run `gatestore init`)",
                              dir, META_NAME);
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot open %s", path);
    }
    char buf[META_MAX + 1];
    ssize_t n = read(fd, buf, META_MAX);
    int e = errno;
    close(fd);
    if (n < 0)
        return gs_err_errno(err, GS_EIO, e, "cannot read %s", path);
    buf[n] = '\0';
    if (strncmp(buf, META_MAGIC " ", strlen(META_MAGIC) + 1) != 0)
        return gs_err_set(err, GS_ENOSTORE, "%s is not a gatestore metadata file", path);
    char *sum_line = strstr(buf, "checksum=");
    if (!sum_line)
        return gs_err_set(err, GS_ECORRUPT, "%s: missing checksum line", path);
    uint64_t want = XXH3_64bits(buf, (size_t)(sum_line - buf));
    unsigned long long got = strtoull(sum_line + 9, NULL, 16);
    if (got != want)
        return gs_err_set(err, GS_ECORRUPT, "%s: checksum mismatch (file damaged)", path);
    unsigned fmt = 0;
    if (sscanf(buf + strlen(META_MAGIC), " %u", &fmt) != 1)
        return gs_err_set(err, GS_ECORRUPT, "%s: bad version line", path);
    if (fmt > GS_STORE_FORMAT_VERSION)
        return gs_err_set(err, GS_EVERSION,
                          "%s: store format %u is newer than this library's %d; upgrade gatestore",
                          path, fmt, GS_STORE_FORMAT_VERSION);
    if (fmt == 0)
        return gs_err_set(err, GS_ECORRUPT, "%s: store format 0 is invalid", path);
    const char *id = strstr(buf, "\nstore_id=");
    const char *cr = strstr(buf, "\ncreated_us=");
    if (!id || !cr || hex_decode(id + 10, m->store_id, 16) != 0)
        return gs_err_set(err, GS_ECORRUPT, "%s: bad store_id line", path);
    m->format = fmt;
    m->created_us = strtoll(cr + 12, NULL, 10);
    return GS_OK;
}

static int random_bytes(uint8_t *out, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, out + got, n - got);
        if (r <= 0) {
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int gs_meta_create(const char *dir, gs_store_meta *m, gs_err *err)
{
    m->format = GS_STORE_FORMAT_VERSION;
    m->created_us = gs_now_us();
    if (random_bytes(m->store_id, sizeof(m->store_id)) != 0)
        return gs_err_errno(err, GS_EIO, errno, "cannot read /dev/urandom for the store id");
    char buf[META_MAX];
    int n = format_body(buf, sizeof(buf), m);
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "checksum=%016" PRIx64 "\n",
                  (uint64_t)XXH3_64bits(buf, (size_t)n));
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof(tmp), "%s/" META_NAME ".tmp", dir);
    snprintf(path, sizeof(path), "%s/" META_NAME, dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot create %s", tmp);
    ssize_t w = write(fd, buf, (size_t)n);
    int e = errno;
    if (w != n || fsync(fd) != 0) {
        e = w == n ? errno : (w < 0 ? e : ENOSPC);
        close(fd);
        unlink(tmp);
        return gs_err_errno(err, gs_errno_code(e), e, "cannot write %s", tmp);
    }
    close(fd);
    if (rename(tmp, path) != 0 || fsync_dir(dir) != 0)
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot install %s", path);
    return GS_OK;
}
