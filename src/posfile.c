/*
 * posfile.c - the watermark file and consumer position files (see
 * posfile.h and src/CONSUMERS_FORMAT.md). Both are 32 bytes: an 8-byte
 * magic, a u32 version, a u32 of zero flags, the u64 LSN, and an XXH3-64
 * of the first 24 bytes, all little-endian.
 */
#include "gs_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "posfile.h"

#define WM_MAGIC    "GSWATER1"
#define CONS_MAGIC  "GSCONSU1"
#define POS_VERSION 1u

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void encode(uint8_t *buf, const char *magic, uint64_t lsn)
{
    memcpy(buf, magic, 8);
    put_u32(buf + 8, POS_VERSION);
    put_u32(buf + 12, 0);
    put_u64(buf + 16, lsn);
    put_u64(buf + 24, XXH3_64bits(buf, 24));
}

/* Decode buf[0..n) read from path. */
static int decode(const uint8_t *buf, ssize_t n, const char *magic, const char *path, uint64_t *lsn,
                  gs_err *err)
{
    if (n != GS_POSFILE_LEN)
        return gs_err_set(err, GS_ECORRUPT, "%s: %zd bytes, expected %d", path, n, GS_POSFILE_LEN);
    if (memcmp(buf, magic, 8) != 0)
        return gs_err_set(err, GS_ECORRUPT, "%s: bad magic", path);
    if (get_u64(buf + 24) != XXH3_64bits(buf, 24))
        return gs_err_set(err, GS_ECORRUPT, "%s: checksum mismatch", path);
    uint32_t version = get_u32(buf + 8);
    if (version != POS_VERSION)
        return gs_err_set(err, GS_EVERSION, "%s: format version %u, this code reads %u", path,
                          version, POS_VERSION);
    if (get_u32(buf + 12) != 0)
        return gs_err_set(err, GS_EVERSION, "%s: unknown flags %#x", path, get_u32(buf + 12));
    *lsn = get_u64(buf + 16);
    return GS_OK;
}

static int read_file(const char *path, const char *magic, uint64_t *lsn, gs_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return gs_err_set(err, GS_ENOTFOUND, "%s does not exist", path);
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot open %s", path);
    }
    uint8_t buf[GS_POSFILE_LEN + 1];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    int e = errno;
    close(fd);
    if (n < 0)
        return gs_err_errno(err, GS_EIO, e, "cannot read %s", path);
    return decode(buf, n, magic, path, lsn, err);
}

int gs_wmfile_open(const char *store_dir, int *fd_out, gs_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/watermark", store_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot open %s", path);
    *fd_out = fd;
    return GS_OK;
}

void gs_wmfile_publish(int fd, uint64_t lsn)
{
    uint8_t buf[GS_POSFILE_LEN];
    encode(buf, WM_MAGIC, lsn);
    /* Advisory: a failed write only delays readers in other processes. */
    if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
    }
}

int gs_wmfile_read(const char *store_dir, uint64_t *lsn, gs_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/watermark", store_dir);
    return read_file(path, WM_MAGIC, lsn, err);
}

int gs_consumer_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

static int consumers_dir(const char *store_dir, char *buf, size_t cap, gs_err *err)
{
    snprintf(buf, cap, "%s/consumers", store_dir);
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot create %s", buf);
    return GS_OK;
}

int gs_consumer_lock(const char *store_dir, const char *name, int *fd_out, gs_err *err)
{
    char dir[4096], path[4200];
    int rc = consumers_dir(store_dir, dir, sizeof(dir), err);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot open %s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return gs_err_set(err, GS_EBUSY, "consumer '%s' is live in another handle (%s)", name,
                              path);
        return gs_err_errno(err, GS_EIO, e, "cannot lock %s", path);
    }
    *fd_out = fd;
    return GS_OK;
}

int gs_consumer_read(const char *store_dir, const char *name, uint64_t *acked, gs_err *err)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/consumers/%s", store_dir, name);
    return read_file(path, CONS_MAGIC, acked, err);
}

int gs_consumer_write(const char *store_dir, const char *name, uint64_t acked, gs_err *err)
{
    char dir[4096], path[4200], tmp[4300];
    int rc = consumers_dir(store_dir, dir, sizeof(dir), err);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    uint8_t buf[GS_POSFILE_LEN];
    encode(buf, CONS_MAGIC, acked);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot create %s", tmp);
    if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return gs_err_errno(err, gs_errno_code(e), e, "cannot write %s", tmp);
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return gs_err_errno(err, gs_errno_code(e), e, "cannot rename %s", tmp);
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return gs_err_errno(err, gs_errno_code(errno), errno, "cannot open %s", dir);
    int r = fsync(dfd);
    int e = errno;
    close(dfd);
    if (r != 0)
        return gs_err_errno(err, gs_errno_code(e), e, "cannot fsync %s", dir);
    return GS_OK;
}
