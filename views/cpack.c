/*
 * cpack.c - the compact form of msgpack values (cpack.h): the entity
 * cache's and, since view schema 4, the stored one (views/FORMAT.md 3a).
 *
 * The stream is the value's own msgpack, token for token, except that some
 * strings are replaced by a token msgpack never uses (0xc1) and a code:
 *
 *   0xc1 c        (c < CP_DICT_MAX) dictionary string c: Discord field
 *                 names and a few common values
 *   0xc1 0xf0 x8  a snowflake written as decimal ("1566421553692905472"):
 *                 u64 big-endian; only canonical spellings (no leading
 *                 zero, 1..20 digits, fits in 64 bits)
 *   0xc1 0xf1 x16 a 32-digit lowercase hex string (avatar, banner and icon
 *                 hashes)
 *   0xc1 0xf2 x10 an ISO timestamp "YYYY-MM-DDTHH:MM:SS.ffffff+00:00"
 *                 (Discord's shape): year u16, month, day, hour, minute,
 *                 second, microseconds u24
 *
 * Each replacement decodes to exactly the bytes it replaced (checked by
 * tests/test_views_overlay.c on every fixture value), so the cache still
 * returns RocksDB's bytes. Member and user values shrink to about 40 %.
 * Encoding walks the msgpack with bounds checks; a value that is not
 * well-formed msgpack is simply not encoded (the caller keeps it raw).
 */
#include "gs_common.h"

#include <pthread.h>
#include <string.h>

#include "cpack.h"
#include "decimal.h"
#include "keycmp.h"

#define CP_TOK      0xc1
#define CP_DICT_MAX 0xf0
#define CP_ID       0xf0
#define CP_HEX32    0xf1
#define CP_TIME     0xf2
#define CP_DEPTH    64

/* Part of the stored format (view schema 4): never reorder, change or
 * remove an entry without bumping GS_VIEWS_SCHEMA (views.h), whose bump
 * rebuilds old views from the log. */
static const char *const dict[] = {
    /* member, user */
    "avatar", "id", "flags", "user", "mute", "deaf", "roles", "username", "public_flags",
    "global_name", "discriminator", "primary_guild", "display_name_styles", "collectibles", "clan",
    "avatar_decoration_data", "banner", "joined_at", "premium_since", "pending",
    "communication_disabled_until", "nick", "bot", "system", "accent_color", "banner_color",
    "guild_id", "unusual_dm_activity_until",
    /* presence, voice state */
    "status", "client_status", "activities", "desktop", "mobile", "web", "online", "idle", "dnd",
    "offline", "created_at", "timestamps", "start", "end", "state", "details", "party", "assets",
    "large_image", "large_text", "small_image", "small_text", "sync_id", "session_id",
    "application_id", "emoji", "buttons", "channel_id", "user_id", "suppress", "self_video",
    "self_mute", "self_deaf", "self_stream", "request_to_speak_timestamp",
    /* channel, thread */
    "name", "type", "position", "parent_id", "rate_limit_per_user", "last_message_id", "topic",
    "nsfw", "permission_overwrites", "allow", "deny", "bitrate", "user_limit", "rtc_region",
    "video_quality_mode", "default_auto_archive_duration", "default_thread_rate_limit_per_user",
    "last_pin_timestamp", "icon_emoji", "theme_color", "emoji_id", "emoji_name", "available_tags",
    "default_reaction_emoji", "default_sort_order", "default_forum_layout", "template",
    "thread_metadata", "archived", "archive_timestamp", "auto_archive_duration", "locked",
    "invitable", "create_timestamp", "member_count", "message_count", "total_message_sent",
    "owner_id", "applied_tags", "member", "join_timestamp", "moderated", "voice_background_display",
    /* role, emoji, sticker */
    "color", "colors", "primary_color", "secondary_color", "tertiary_color", "hoist", "icon",
    "unicode_emoji", "managed", "mentionable", "permissions", "tags", "description",
    "require_colons", "animated", "available", "format_type", "asset", "sort_value", "pack_id",
    /* guild */
    "unavailable", "splash", "discovery_splash", "afk_channel_id", "afk_timeout",
    "system_channel_id", "system_channel_flags", "rules_channel_id", "public_updates_channel_id",
    "safety_alerts_channel_id", "features", "verification_level", "default_message_notifications",
    "explicit_content_filter", "mfa_level", "nsfw_level", "premium_tier",
    "premium_subscription_count", "preferred_locale", "vanity_url_code", "max_members",
    "max_video_channel_users", "max_stage_video_channel_users", "home_header", "hub_type",
    "incidents_data", "latest_onboarding_question_id", "premium_progress_bar_enabled", "large",
    "lazy", "widget_enabled", "widget_channel_id", "approximate_member_count",
    "approximate_presence_count", "owner", "region", "embedded_activities",
    /* scheduled events, stage instances */
    "privacy_level", "scheduled_start_time", "scheduled_end_time", "entity_type", "entity_id",
    "entity_metadata", "creator_id", "user_count", "location", "discoverable_disabled",
    "guild_scheduled_event_id",
    /* common values */
    "0", "en-US"};

#define DICT_N  (sizeof(dict) / sizeof(dict[0]))
#define HT_SIZE 512 /* power of two, > 2 * DICT_N */

static uint8_t ht[HT_SIZE]; /* dictionary code + 1, 0 = empty */
static uint8_t dict_len[DICT_N];
/* The strings zero-padded to 32 bytes: decoding copies a constant 32 (two
 * vector moves) where a copy of the exact length was a `rep movs`, a
 * quarter of a point get's decoding. */
static char dict_pad[DICT_N][32];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Inline and cheap: it runs for every string of every value the cache
 * takes in (a call into libxxhash per string was a tenth of the encoding).
 * n >= 1. Collisions only lengthen a probe: the table is a quarter full. */
static uint32_t hash_str(const char *s, size_t n)
{
    uint32_t h = (uint32_t)n * 0x9e3779b1u;
    h ^= (uint32_t)(uint8_t)s[0] * 0x85ebca6bu;
    h ^= (uint32_t)(uint8_t)s[n - 1] * 0xc2b2ae35u;
    h ^= (uint32_t)(uint8_t)s[n / 2] * 0x27d4eb2fu;
    return h ^ (h >> 15);
}

static void init(void)
{
    _Static_assert(DICT_N < CP_DICT_MAX, "cpack dictionary too large");
    _Static_assert(HT_SIZE > 2 * DICT_N, "cpack hash table too small");
    for (size_t i = 0; i < DICT_N; i++) {
        size_t n = strlen(dict[i]);
        dict_len[i] = (uint8_t)n;
        if (n >= 32)
            continue; /* decoding writes fixstr headers only */
        memcpy(dict_pad[i], dict[i], n);
        uint32_t h = hash_str(dict[i], n) & (HT_SIZE - 1);
        while (ht[h]) {
            if (strcmp(dict[ht[h] - 1], dict[i]) == 0)
                break; /* a duplicate: keep the first code */
            h = (h + 1) & (HT_SIZE - 1);
        }
        if (!ht[h])
            ht[h] = (uint8_t)(i + 1);
    }
}

void gs_cpack_init(void)
{
    pthread_once(&once, init);
}

static int dict_find(const char *s, size_t n)
{
    if (n == 0 || n > 40)
        return -1;
    uint32_t h = hash_str(s, n) & (HT_SIZE - 1);
    while (ht[h]) {
        int c = ht[h] - 1;
        if (dict_len[c] == n && gs_key_eq(dict[c], s, n))
            return c;
        h = (h + 1) & (HT_SIZE - 1);
    }
    return -1;
}

/* ---- encoding ---- */

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
} wbuf;

static int put(wbuf *w, const void *d, size_t n)
{
    if (w->cap - w->len < n)
        return -1;
    memcpy(w->p + w->len, d, n);
    w->len += n;
    return 0;
}

/* Canonical decimal only (no leading zero): decoding writes it back so. */
static int digits_id(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || s[0] < '1' || s[0] > '9')
        return 0;
    return gs_dec_u64(s, n, out);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int num2(const char *s, unsigned *out)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return 0;
    *out = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" -> 10 bytes. */
static int time_pack(const char *s, size_t n, uint8_t out[10])
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddd+00:00";
    if (n != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    }
    unsigned y1 = 0, y2 = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    num2(s, &y1);
    num2(s + 2, &y2);
    num2(s + 5, &mo);
    num2(s + 8, &d);
    num2(s + 11, &h);
    num2(s + 14, &mi);
    num2(s + 17, &se);
    unsigned us = 0;
    for (int i = 20; i < 26; i++)
        us = us * 10 + (unsigned)(s[i] - '0');
    unsigned y = y1 * 100 + y2;
    out[0] = (uint8_t)(y >> 8);
    out[1] = (uint8_t)y;
    out[2] = (uint8_t)mo;
    out[3] = (uint8_t)d;
    out[4] = (uint8_t)h;
    out[5] = (uint8_t)mi;
    out[6] = (uint8_t)se;
    out[7] = (uint8_t)(us >> 16);
    out[8] = (uint8_t)(us >> 8);
    out[9] = (uint8_t)us;
    return 1;
}

/* The code replacing the string s[0..n) (header hdr[0..hlen)) in t:
 * its length, or 0 to keep the string verbatim. */
static size_t code_str(const uint8_t *hdr, size_t hlen, const char *s, size_t n, uint8_t t[20])
{
    /* Only minimal headers (msgpack-c's): decoding writes those. */
    if (n > 40 || hlen != (n < 32 ? 1u : 2u) || (hlen == 2 && hdr[0] != 0xd9))
        return 0;
    int c = dict_find(s, n);
    if (c >= 0) {
        t[0] = CP_TOK;
        t[1] = (uint8_t)c;
        return 2;
    }
    uint64_t id;
    if (n >= 10 && digits_id(s, n, &id)) {
        t[0] = CP_TOK;
        t[1] = CP_ID;
        for (int i = 0; i < 8; i++)
            t[2 + i] = (uint8_t)(id >> (56 - 8 * i));
        return 10;
    }
    if (n == 32) {
        int ok = 1;
        t[0] = CP_TOK;
        t[1] = CP_HEX32;
        for (int i = 0; i < 16 && ok; i++) {
            int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
            ok = a >= 0 && b >= 0;
            if (ok)
                t[2 + i] = (uint8_t)((unsigned)a << 4 | (unsigned)b);
        }
        if (ok)
            return 18;
        t[0] = CP_TOK;
        t[1] = CP_TIME;
        if (time_pack(s, n, t + 2))
            return 12;
    }
    return 0;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x = (x << 8) | p[i];
    return x;
}

/* Length of the header at p (1 + extra bytes) and what follows it: *body
 * bytes of payload, *kids nested values. 0 ok, -1 invalid / truncated. */
static int header(const uint8_t *p, const uint8_t *end, size_t *hlen, size_t *body, uint64_t *kids,
                  int *is_str)
{
    uint8_t c = p[0];
    *hlen = 1;
    *body = 0;
    *kids = 0;
    *is_str = 0;
    size_t nl = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return 0;
    if (c <= 0x8f) {
        *kids = 2u * (c & 0x0f);
        return 0;
    }
    if (c <= 0x9f) {
        *kids = c & 0x0f;
        return 0;
    }
    if (c <= 0xbf) {
        *body = c & 0x1f;
        *is_str = 1;
        return 0;
    }
    switch (c) {
    case 0xc4:
    case 0xc5:
    case 0xc6:
        nl = (size_t)1 << (c - 0xc4);
        break;
    case 0xd9:
    case 0xda:
    case 0xdb:
        nl = (size_t)1 << (c - 0xd9);
        *is_str = 1;
        break;
    case 0xc7:
    case 0xc8:
    case 0xc9: /* ext: length, type byte, data */
        nl = (size_t)1 << (c - 0xc7);
        if ((size_t)(end - p) < 1 + nl)
            return -1;
        *hlen = 1 + nl + 1;
        *body = (size_t)be(p + 1, (int)nl);
        return 0;
    case 0xca:
        *body = 4;
        return 0;
    case 0xcb:
        *body = 8;
        return 0;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        *body = (size_t)1 << (c - 0xcc);
        return 0;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        *body = (size_t)1 << (c - 0xd0);
        return 0;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        *body = 1 + ((size_t)1 << (c - 0xd4));
        return 0;
    case 0xdc:
    case 0xdd:
        nl = (size_t)2 << (c - 0xdc);
        if ((size_t)(end - p) < 1 + nl)
            return -1;
        *hlen = 1 + nl;
        *kids = be(p + 1, (int)nl);
        return 0;
    case 0xde:
    case 0xdf:
        nl = (size_t)2 << (c - 0xde);
        if ((size_t)(end - p) < 1 + nl)
            return -1;
        *hlen = 1 + nl;
        *kids = 2 * be(p + 1, (int)nl);
        return 0;
    default: /* 0xc1: never used */
        return -1;
    }
    if ((size_t)(end - p) < 1 + nl)
        return -1;
    *hlen = 1 + nl;
    *body = (size_t)be(p + 1, (int)nl);
    return 0;
}

size_t gs_cpack_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    gs_cpack_init();
    wbuf w = {out, 0, cap};
    const uint8_t *p = in, *end = in + len;
    const uint8_t *run = in; /* verbatim bytes not yet copied: run..p */
    uint64_t todo[CP_DEPTH];
    int depth = 0;
    uint64_t pending = 1; /* values left at this level */
    for (;;) {
        while (pending == 0) {
            if (depth == 0)
                return p == end && put(&w, run, (size_t)(p - run)) == 0 ? w.len : 0;
            pending = todo[--depth];
        }
        if (p >= end)
            return 0;
        size_t hlen, body;
        uint64_t kids;
        int is_str;
        uint8_t c = p[0];
        /* The common one-byte headers without the general decoder. */
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            hlen = 1, body = 0, kids = 0, is_str = 0;
        } else if (c >= 0xa0 && c <= 0xbf) {
            hlen = 1, body = c & 0x1f, kids = 0, is_str = 1;
        } else if (header(p, end, &hlen, &body, &kids, &is_str) != 0) {
            return 0;
        }
        if ((size_t)(end - p) < hlen || (size_t)(end - p - hlen) < body)
            return 0;
        pending--;
        if (is_str) {
            /* The code is built where it goes, after the verbatim run (a
             * failed try leaves bytes past w.len, which count for
             * nothing): built in a local array and copied out, its reload
             * stalled on the stores just made (a sixth of the encoder's
             * samples). Near the end of the output, the local array. */
            size_t rl = (size_t)(p - run);
            uint8_t local[20];
            uint8_t *t = w.cap - w.len >= rl + sizeof(local) ? w.p + w.len + rl : local;
            size_t tn = code_str(p, hlen, (const char *)p + hlen, body, t);
            if (tn) {
                if (t == local) {
                    if (put(&w, run, rl) != 0 || put(&w, local, tn) != 0)
                        return 0;
                } else {
                    memcpy(w.p + w.len, run, rl);
                    w.len += rl + tn;
                }
                run = p + hlen + body;
            }
        }
        p += hlen + body;
        if (kids) {
            if (depth == CP_DEPTH)
                return 0;
            todo[depth++] = pending;
            pending = kids;
        }
    }
}

/* ---- decoding ---- */

/* How many decimal digits id has (1 to 20). */
static size_t id_digits(uint64_t id)
{
    /* Snowflakes have 17 to 20 digits: count down from the top instead of
     * up from one. */
    static const uint64_t pow10[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};
    size_t n = 20;
    while (n > 1 && id < pow10[n - 1])
        n--;
    return n;
}

size_t gs_cpack_idstr(uint8_t *out, uint64_t id)
{
    /* Two digits per division: snowflakes have 17 to 20. */
    static const char d2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                             "34353637383940414243444546474849505152535455565758596061626364656667"
                             "6869707172737475767778798081828384858687888990919293949596979899";
    size_t n = id_digits(id);
    out[0] = (uint8_t)(0xa0 | n);
    size_t i = n;
    while (id >= 100) {
        unsigned d = (unsigned)(id % 100);
        id /= 100;
        out[i - 1] = (uint8_t)d2[2 * d];
        out[i] = (uint8_t)d2[2 * d + 1];
        i -= 2;
    }
    if (id >= 10) {
        out[i - 1] = (uint8_t)d2[2 * id];
        out[i] = (uint8_t)d2[2 * id + 1];
    } else {
        out[i] = (uint8_t)('0' + id);
    }
    return n + 1;
}

/* The n low decimal digits of v, zero-padded, at s. */
static void put_digits(char *s, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        s[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" as a msgpack str8 (34 bytes). */
static size_t put_time(uint8_t *out, const uint8_t *p)
{
    unsigned y = (unsigned)p[0] << 8 | p[1];
    unsigned us = (unsigned)p[7] << 16 | (unsigned)p[8] << 8 | p[9];
    char *s = (char *)out + 2;
    out[0] = 0xd9;
    out[1] = 32;
    memcpy(s, "0000-00-00T00:00:00.000000+00:00", 32);
    put_digits(s, y, 4);
    put_digits(s + 5, p[2], 2);
    put_digits(s + 8, p[3], 2);
    put_digits(s + 11, p[4], 2);
    put_digits(s + 14, p[5], 2);
    put_digits(s + 17, p[6], 2);
    put_digits(s + 20, us, 6);
    return 34;
}

size_t gs_cpack_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    gs_cpack_init();
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = in, *end = in + len;
    const uint8_t *run = in; /* verbatim bytes not yet copied: run..p */
    size_t o = 0;
    uint64_t todo[CP_DEPTH];
    int depth = 0;
    uint64_t pending = 1;
    for (;;) {
        while (pending == 0) {
            if (depth == 0) {
                if (p != end || cap - o < (size_t)(p - run))
                    return 0;
                memcpy(out + o, run, (size_t)(p - run));
                return o + (size_t)(p - run);
            }
            pending = todo[--depth];
        }
        if (p >= end)
            return 0;
        pending--;
        if (p[0] != CP_TOK) {
            size_t hlen, body;
            uint64_t kids;
            int is_str;
            if (p[0] <= 0x7f || (p[0] >= 0xa0 && p[0] <= 0xbf)) { /* fixint, fixstr */
                hlen = 1;
                body = p[0] <= 0x7f ? 0 : (size_t)(p[0] & 0x1f);
                kids = 0;
            } else if (header(p, end, &hlen, &body, &kids, &is_str) != 0) {
                return 0;
            }
            if ((size_t)(end - p) < hlen || (size_t)(end - p - hlen) < body)
                return 0;
            p += hlen + body;
            if (kids) {
                if (depth == CP_DEPTH)
                    return 0;
                todo[depth++] = pending;
                pending = kids;
            }
            continue;
        }
        /* A replaced string: flush the verbatim run, then expand it. */
        if (end - p < 2)
            return 0;
        uint8_t c = p[1];
        size_t need, arg;
        if (c < CP_DICT_MAX) {
            if (c >= DICT_N || dict_len[c] >= 32)
                return 0;
            need = 1 + (size_t)dict_len[c];
            arg = 0;
        } else if (c == CP_ID) {
            need = 21; /* at most */
            arg = 8;
        } else if (c == CP_HEX32) {
            need = 34;
            arg = 16;
        } else if (c == CP_TIME) {
            need = 34;
            arg = 10;
        } else {
            return 0;
        }
        if ((size_t)(end - p - 2) < arg)
            return 0;
        uint64_t id = 0;
        if (c == CP_ID) {
            id = be(p + 2, 8);
            need = 1 + id_digits(id);
        }
        size_t r = (size_t)(p - run);
        if (cap - o < r || cap - o - r < need)
            return 0;
        memcpy(out + o, run, r);
        o += r;
        p += 2;
        if (c < CP_DICT_MAX) {
            size_t n = dict_len[c];
            out[o] = (uint8_t)(0xa0 | n);
            if (cap - o > 32)
                memcpy(out + o + 1, dict_pad[c], 32); /* the tail is overwritten or unused */
            else
                memcpy(out + o + 1, dict[c], n);
            o += n + 1;
        } else if (c == CP_ID) {
            o += gs_cpack_idstr(out + o, id);
        } else if (c == CP_HEX32) {
            out[o] = 0xd9;
            out[o + 1] = 32;
            for (int i = 0; i < 16; i++) {
                out[o + 2 + 2 * i] = (uint8_t)hex[p[i] >> 4];
                out[o + 3 + 2 * i] = (uint8_t)hex[p[i] & 15];
            }
            o += 34;
        } else {
            o += put_time(out + o, p);
        }
        p += arg;
        run = p;
    }
}
