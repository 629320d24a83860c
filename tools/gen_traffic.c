/*
 * gatestore-gen: deterministic synthetic Discord gateway (API v10) traffic.
 *
 * Writes NDJSON, one compact gateway frame per line, the way a bot would
 * receive them: an optional op 10 HELLO, a READY listing every guild as
 * unavailable, one GUILD_CREATE per guild with full roles, channels, members,
 * threads, voice states and presences (or, with --chunked, only the bot's own
 * member followed by GUILD_MEMBERS_CHUNK frames), then --updates dispatch
 * events drawn from a weighted mix (member events dominate, then messages,
 * typing and presences, then channel/role/thread/emoji/voice/guild events,
 * a few unknown event names and rare GUILD_DELETE outages that end with a new
 * GUILD_CREATE). Optional op 11 / op 1 frames are sprinkled in.
 *
 * The generator keeps only the ids of live entities (plus a few small
 * counters), so every update refers to things that exist at that point of
 * the stream: removes, updates and deletes pick live entities, creates mint
 * fresh snowflakes. Everything else about an entity (names, colours, avatar
 * hashes, ...) is a pure function of its id, a per-entity version and the
 * seed, which keeps memory at O(entities) and repeated objects consistent.
 *
 * Determinism contract: the output is a pure function of the command line.
 * Identical arguments give identical bytes on every platform; no clock, no
 * rand(), no environment and no address is ever consulted. The dispatch
 * frames do not depend on --envelope or --nondispatch: those only add
 * wrapping or extra non-dispatch lines, so the inner frames stay the same
 * (--shards shows up in READY's "shard" field and the envelope only).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Time constants (milliseconds / microseconds since the Unix epoch).       */
/* ------------------------------------------------------------------------ */

#define DISCORD_EPOCH_MS 1420070400000ULL
#define T_2015_11_01     1446336000000ULL
#define T_2016_01_01     1451606400000ULL
#define T_2019_01_01     1546300800000ULL
#define T_2025_01_01     1735689600000ULL
#define T_2026_09_01     1788220800000ULL
#define T_SNAPSHOT_END   1793530800000ULL    /* 2026-11-01T11:00:00Z */
#define T_START_US       1793534400123456ULL /* 2026-11-01T12:00:00.123456Z */

/* ------------------------------------------------------------------------ */
/* Small utilities                                                          */
/* ------------------------------------------------------------------------ */

static void die(int code, const char *msg, const char *detail)
{
    if (detail)
        fprintf(stderr, "gatestore-gen: %s: %s\n", msg, detail);
    else
        fprintf(stderr, "gatestore-gen: %s\n", msg);
    exit(code);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die(1, "out of memory", NULL);
    return q;
}

/* Grows a vector's storage to hold at least `need` elements. */
static void *vec_reserve(void *v, uint32_t *cap, uint32_t need, size_t elsize)
{
    if (need <= *cap)
        return v;
    uint64_t ncap = *cap ? (uint64_t)*cap * 2 : 8;
    if (ncap < need)
        ncap = need;
    if (ncap > UINT32_MAX)
        die(1, "too many entities", NULL);
    *cap = (uint32_t)ncap;
    return xrealloc(v, (size_t)ncap * elsize);
}

#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        uint32_t n, cap;                                                                           \
    }
/* Appends one zeroed slot and yields a pointer to it. */
#define VEC_PUSH(vec)                                                                              \
    ((vec).v = vec_reserve((vec).v, &(vec).cap, (vec).n + 1u, sizeof(*(vec).v)),                   \
     memset(&(vec).v[(vec).n], 0, sizeof(*(vec).v)), &(vec).v[(vec).n++])
/* O(1) removal: the last element takes the hole. */
#define VEC_DEL(vec, i) ((vec).v[(i)] = (vec).v[--(vec).n])

/* ------------------------------------------------------------------------ */
/* Randomness: xoshiro256** for the event stream, a splitmix64 finalizer to  */
/* derive stable per-entity attributes from ids.                            */
/* ------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct rng {
    uint64_t s[4];
};

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        r->s[i] = mix64(x);
    }
}

/* Uniform in [0, n) via multiply-shift; bias is negligible for our n. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* True with probability pct/100. */
static bool rng_pct(struct rng *r, uint32_t pct)
{
    return rng_below(r, 100) < pct;
}

/* ------------------------------------------------------------------------ */
/* Output buffer. Frames can be far larger than the buffer (a GUILD_CREATE  */
/* with 100k members), so every put flushes on demand instead of sizing the */
/* buffer to a frame.                                                       */
/* ------------------------------------------------------------------------ */

#define OUT_CAP (4u << 20)

struct out {
    char *buf;
    size_t len;
    uint64_t flushed;
    int fd;
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die(1, "write error", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
}

static void out_flush(struct out *o)
{
    write_all(o->fd, o->buf, o->len);
    o->flushed += o->len;
    o->len = 0;
}

static uint64_t out_total(const struct out *o)
{
    return o->flushed + o->len;
}

/* Returns room for n bytes (n must be small compared to OUT_CAP). */
static inline char *out_room(struct out *o, size_t n)
{
    if (o->len + n > OUT_CAP)
        out_flush(o);
    return o->buf + o->len;
}

static inline void put_n(struct out *o, const char *s, size_t n)
{
    if (n > OUT_CAP / 2) {
        out_flush(o);
        write_all(o->fd, s, n);
        o->flushed += n;
        return;
    }
    memcpy(out_room(o, n), s, n);
    o->len += n;
}

/* String literals only: the length is known at compile time. */
#define PUT(o, lit) put_n((o), "" lit, sizeof(lit) - 1)

static inline void put_c(struct out *o, char c)
{
    *out_room(o, 1) = c;
    o->len++;
}

static char DIGITS2[200];

static void init_digits(void)
{
    for (int i = 0; i < 100; i++) {
        DIGITS2[2 * i] = (char)('0' + i / 10);
        DIGITS2[2 * i + 1] = (char)('0' + i % 10);
    }
}

/* Formats v backwards two digits at a time; returns the digit count. */
static size_t fmt_u64(char *dst, uint64_t v)
{
    char tmp[20];
    char *p = tmp + sizeof(tmp);
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, DIGITS2 + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, DIGITS2 + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(dst, p, n);
    return n;
}

static inline void put_u64(struct out *o, uint64_t v)
{
    char *p = out_room(o, 20);
    o->len += fmt_u64(p, v);
}

/* Snowflakes are strings on the wire; 0 means "no id" and prints null. */
static inline void put_id(struct out *o, uint64_t id)
{
    if (!id) {
        PUT(o, "null");
        return;
    }
    char *p = out_room(o, 22);
    p[0] = '"';
    size_t n = fmt_u64(p + 1, id);
    p[n + 1] = '"';
    o->len += n + 2;
}

static inline void put_bool(struct out *o, bool b)
{
    if (b)
        PUT(o, "true");
    else
        PUT(o, "false");
}

/* Lowercase hex of the low 4*ndig bits of v (ndig <= 16). */
static void put_hex(struct out *o, uint64_t v, int ndig)
{
    static const char hx[] = "0123456789abcdef";
    char *p = out_room(o, (size_t)ndig);
    for (int i = ndig - 1; i >= 0; i--) {
        p[i] = hx[v & 15];
        v >>= 4;
    }
    o->len += (size_t)ndig;
}

/* A quoted 32-digit hex hash, the shape of Discord avatar/icon hashes. */
static void put_hash32(struct out *o, uint64_t h, bool animated)
{
    put_c(o, '"');
    if (animated)
        PUT(o, "a_");
    put_hex(o, h, 16);
    put_hex(o, mix64(h), 16);
    put_c(o, '"');
}

/* ------------------------------------------------------------------------ */
/* Calendar formatting (proleptic Gregorian, UTC).                          */
/* ------------------------------------------------------------------------ */

/* Converts days since 1970-01-01 to a civil date (valid for our range). */
static void civil_from_days(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468; /* shift the epoch to 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* day of era */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* year of era */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153; /* March-based month */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Writes "YYYY-MM-DDTHH:MM:SS" for a Unix second count into p (19 bytes).
 * The date part is cached because consecutive timestamps share the day. */
static void fmt_datetime(char *p, uint64_t secs)
{
    static int64_t cached_day = -1;
    static char cached[11];
    int64_t day = (int64_t)(secs / 86400);
    if (day != cached_day) {
        int y, m, d;
        civil_from_days(day, &y, &m, &d);
        memcpy(cached, DIGITS2 + 2 * (y / 100), 2);
        memcpy(cached + 2, DIGITS2 + 2 * (y % 100), 2);
        cached[4] = '-';
        memcpy(cached + 5, DIGITS2 + 2 * m, 2);
        cached[7] = '-';
        memcpy(cached + 8, DIGITS2 + 2 * d, 2);
        cached[10] = 'T';
        cached_day = day;
    }
    unsigned sod = (unsigned)(secs % 86400);
    memcpy(p, cached, 11);
    memcpy(p + 11, DIGITS2 + 2 * (sod / 3600), 2);
    p[13] = ':';
    memcpy(p + 14, DIGITS2 + 2 * (sod / 60 % 60), 2);
    p[16] = ':';
    memcpy(p + 17, DIGITS2 + 2 * (sod % 60), 2);
}

/* Writes 6 fractional digits. */
static void fmt_micros(char *p, unsigned us)
{
    memcpy(p, DIGITS2 + 2 * (us / 10000), 2);
    memcpy(p + 2, DIGITS2 + 2 * (us / 100 % 100), 2);
    memcpy(p + 4, DIGITS2 + 2 * (us % 100), 2);
}

/* Discord's API timestamp style: "2021-03-04T05:06:07.123000+00:00". */
static void put_ts_ms(struct out *o, uint64_t ms)
{
    char *p = out_room(o, 34);
    p[0] = '"';
    fmt_datetime(p + 1, ms / 1000);
    p[20] = '.';
    fmt_micros(p + 21, (unsigned)(ms % 1000) * 1000);
    memcpy(p + 27, "+00:00\"", 7);
    o->len += 34;
}

/* The envelope style: "2026-11-01T12:00:00.123456Z". */
static void put_ts_us_z(struct out *o, uint64_t us)
{
    char *p = out_room(o, 29);
    p[0] = '"';
    fmt_datetime(p + 1, us / 1000000);
    p[20] = '.';
    fmt_micros(p + 21, (unsigned)(us % 1000000));
    memcpy(p + 27, "Z\"", 2);
    o->len += 29;
}

/* ------------------------------------------------------------------------ */
/* Word pools. Every entry is JSON-escaped once at start-up, so hot paths    */
/* concatenate pre-escaped pieces (escaping is concatenative).               */
/* ------------------------------------------------------------------------ */

static const char *const W_ADJ[] = {
    "Quiet",  "Brave",  "Lucky",  "Silver", "Crimson", "Hidden",   "Rapid",  "Gentle",
    "Frosty", "Golden", "Mellow", "Cosmic", "Dusty",   "Electric", "Fuzzy",  "Happy",
    "Icy",    "Jolly",  "Lazy",   "Misty",  "Noble",   "Odd",      "Proud",  "Rusty",
    "Sleepy", "Tiny",   "Wild",   "Zesty",  "Ancient", "Bold",     "Clever", "Dark",
};

static const char *const W_NOUN[] = {
    "Falcon", "Otter",  "Badger", "Comet",   "Dragon",  "Ember",   "Fox",     "Goblin",
    "Harbor", "Island", "Jaguar", "Koala",   "Lantern", "Meadow",  "Nebula",  "Owl",
    "Panda",  "Quasar", "Raven",  "Sparrow", "Tiger",   "Unicorn", "Viper",   "Walrus",
    "Yak",    "Zephyr", "Pixel",  "Wizard",  "Rocket",  "Cactus",  "Penguin", "Maple",
};

/* Non-ASCII display strings: accents, CJK, emoji, RTL, astral-plane letters. */
static const char *const W_FANCY[] = {
    "café",         "日本語", "🔥",     "naïve",  "Ωmega", "Ünïcødé",    "ñandú", "Привет", "😀✨",
    "crème brûlée", "straße", "𝓢𝓹𝓪𝓻𝓴", "한국어", "مرحبا", "✓ verified", "Zoë",   "Björk",  "🐸 frog",
};

/* Strings that exercise escaping: quotes, backslashes, control characters. */
static const char *const W_TRICKY[] = {
    "say \"hi\"",  "back\\slash", "tab\there",     "bell\ading",   "line\nbreak",
    "unit\x1fsep", "</script>",   "C:\\Users\\me", "\"quoted\\\"", "nul-ish \x01",
};

static const char *const W_WORD[] = {
    "hello",  "anyone", "playing",  "tonight", "lol",   "gg",    "the",    "raid",
    "at",     "9pm",    "server",   "update",  "patch", "notes", "are",    "out",
    "check",  "pinned", "thanks",   "brb",     "what",  "is",    "this",   "ok",
    "really", "nice",   "build",    "deploy",  "broke", "again", "who",    "wants",
    "to",     "join",   "voice",    "later",   "👍",     "café",  "日本語", "🔥",
    "ça",     "marche", "😂",        "wait",    "for",   "me",    "first",  "i",
    "think",  "we",     "should",   "try",     "that",  "map",   "queue",  "now",
    "sure",   "maybe",  "tomorrow", "bug",     "fixed", "in",    "latest", "release",
};

static const char *const W_CHAN[] = {
    "off-topic", "memes",        "announcements", "help",    "dev",      "art",
    "music",     "gaming",       "clips",         "rules",   "welcome",  "lounge",
    "support",   "bot-commands", "media",         "events",  "feedback", "café-talk",
    "日本語",    "🔥-hot-takes",  "study",         "trading", "lfg",      "suggestions",
    "showcase",  "news",         "pets",          "food",    "random",   "introductions",
};

static const char *const W_CATEGORY[] = {
    "TEXT CHANNELS", "VOICE CHANNELS", "COMMUNITY", "INFO",  "GAMES",
    "STAFF",         "ARCHIVE",        "🎮 GAMING",  "MUSIC", "EVENTS",
};

static const char *const W_ROLE[] = {
    "Admin",        "Moderator", "Member",     "VIP",     "Server Booster",
    "Muted",        "Helper",    "Event Team", "Artist",  "Développeur",
    "日本語チーム", "🔥 Fire",    "Verified",   "Guest",   "Veteran",
    "DJ",           "Streamer",  "Partner",    "Support", "Beta Tester",
};

static const char *const W_GUILD_SUFFIX[] = {
    "Club", "Hub", "Community", "Lounge", "Guild", "Café", "Den", "Collective", "🔥", "サーバー",
};

static const char *const W_GAME[] = {
    "Minecraft",        "Valorant", "League of Legends", "Stardew Valley", "Elden Ring",
    "Counter-Strike 2", "Fortnite", "Rocket League",     "原神",           "Pokémon Scarlet",
};

static const char *const W_STATUS[] = {
    "busy coding", "afk 🍕",       "do not disturb",  "streaming later", "café time ☕",
    "勉強中",      "on vacation", "\"touch grass\"", "back at 5",       "🔥🔥🔥",
};

static const char *const W_EMOJI_CHAR[] = {"🔥", "😀", "🎉", "👍", "❤️", "🐸", "✨", "🍕"};

static const char *const W_PERMS[] = {
    "2248473465835073", "1071698660928", "8", "104324673", "2147483647", "0",
    "1099511627775",    "37080128",
};

static const char *const W_FEATURES[] = {
    "COMMUNITY",
    "NEWS",
    "INVITE_SPLASH",
    "ANIMATED_ICON",
    "BANNER",
    "ROLE_ICONS",
    "WELCOME_SCREEN_ENABLED",
    "MEMBER_VERIFICATION_GATE_ENABLED",
    "PREVIEW_ENABLED",
    "VANITY_URL",
    "SOUNDBOARD",
    "AUTO_MODERATION",
};

static const char *const W_SONG[] = {
    "Midnight City",     "Blinding Lights", "Ça plane pour moi", "夜に駆ける",
    "Bohemian Rhapsody", "Levitating",      "Take On Me",        "Clair de lune",
};

static const char *const W_ARTIST[] = {
    "M83", "The Weeknd", "Plastic Bertrand", "YOASOBI", "Queen", "Dua Lipa", "a-ha", "Debussy",
};

struct piece {
    char *s; /* owned, already escaped */
    uint32_t n;
};

struct pool {
    struct piece *p;
    uint32_t n;
};

enum pool_id {
    P_ADJ,
    P_NOUN,
    P_ADJ_LC,
    P_NOUN_LC,
    P_FANCY,
    P_TRICKY,
    P_WORD,
    P_CHAN,
    P_CATEGORY,
    P_ROLE,
    P_GUILD_SUFFIX,
    P_GAME,
    P_STATUS,
    P_EMOJI_CHAR,
    P_PERMS,
    P_FEATURES,
    P_SONG,
    P_ARTIST,
    P_COUNT
};

static struct pool POOLS[P_COUNT];

/* JSON-escapes n bytes of src into dst (room for 6*n); returns bytes written.
 * Quotes and backslashes get a backslash, common controls their short form
 * and every other control character the \u00XX form. UTF-8 passes through. */
static size_t json_escape(char *dst, const char *src, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    char *p = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else if (c == '\t') {
            *p++ = '\\';
            *p++ = 't';
        } else if (c == '\r') {
            *p++ = '\\';
            *p++ = 'r';
        } else if (c < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hx[c >> 4];
            p[5] = hx[c & 15];
            p += 6;
        } else {
            *p++ = (char)c;
        }
    }
    return (size_t)(p - dst);
}

/* Builds an escaped pool; lower=true also ASCII-lowercases (usernames). */
static void make_pool(enum pool_id id, const char *const *raw, uint32_t n, bool lower)
{
    struct pool *pl = &POOLS[id];
    pl->p = xrealloc(NULL, n * sizeof(*pl->p));
    pl->n = n;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(raw[i]);
        char *tmp = xrealloc(NULL, len + 1);
        for (size_t k = 0; k < len; k++) {
            char c = raw[i][k];
            tmp[k] = (lower && c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        char *esc = xrealloc(NULL, 6 * len + 1);
        pl->p[i].n = (uint32_t)json_escape(esc, tmp, len);
        pl->p[i].s = esc;
        free(tmp);
    }
}

#define MAKE_POOL(id, arr, lower) make_pool((id), (arr), sizeof(arr) / sizeof((arr)[0]), (lower))

static void init_pools(void)
{
    MAKE_POOL(P_ADJ, W_ADJ, false);
    MAKE_POOL(P_NOUN, W_NOUN, false);
    MAKE_POOL(P_ADJ_LC, W_ADJ, true);
    MAKE_POOL(P_NOUN_LC, W_NOUN, true);
    MAKE_POOL(P_FANCY, W_FANCY, false);
    MAKE_POOL(P_TRICKY, W_TRICKY, false);
    MAKE_POOL(P_WORD, W_WORD, false);
    MAKE_POOL(P_CHAN, W_CHAN, false);
    MAKE_POOL(P_CATEGORY, W_CATEGORY, false);
    MAKE_POOL(P_ROLE, W_ROLE, false);
    MAKE_POOL(P_GUILD_SUFFIX, W_GUILD_SUFFIX, false);
    MAKE_POOL(P_GAME, W_GAME, false);
    MAKE_POOL(P_STATUS, W_STATUS, false);
    MAKE_POOL(P_EMOJI_CHAR, W_EMOJI_CHAR, false);
    MAKE_POOL(P_PERMS, W_PERMS, false);
    MAKE_POOL(P_FEATURES, W_FEATURES, false);
    MAKE_POOL(P_SONG, W_SONG, false);
    MAKE_POOL(P_ARTIST, W_ARTIST, false);
}

static void free_pools(void)
{
    for (int i = 0; i < P_COUNT; i++) {
        for (uint32_t k = 0; k < POOLS[i].n; k++)
            free(POOLS[i].p[k].s);
        free(POOLS[i].p);
    }
}

/* Writes entry (h mod size) of a pool, without quotes. */
static inline void put_word(struct out *o, enum pool_id id, uint64_t h)
{
    const struct piece *pc = &POOLS[id].p[h % POOLS[id].n];
    put_n(o, pc->s, pc->n);
}

/* Writes a quoted pool entry. */
static void put_qword(struct out *o, enum pool_id id, uint64_t h)
{
    put_c(o, '"');
    put_word(o, id, h);
    put_c(o, '"');
}

/* ------------------------------------------------------------------------ */
/* World state: only what coherence needs (ids, parents, versions).         */
/* ------------------------------------------------------------------------ */

enum chan_type {
    CH_TEXT = 0,
    CH_VOICE = 2,
    CH_CATEGORY = 4,
    CH_NEWS = 5,
    CH_NEWS_THREAD = 10,
    CH_PUBLIC_THREAD = 11,
    CH_PRIVATE_THREAD = 12,
    CH_STAGE = 13,
    CH_FORUM = 15,
};

#define TYPE_BIT(t)     (1u << (t))
#define MASK_TALK       (TYPE_BIT(CH_TEXT) | TYPE_BIT(CH_VOICE) | TYPE_BIT(CH_NEWS))
#define MASK_VOICE      (TYPE_BIT(CH_VOICE) | TYPE_BIT(CH_STAGE))
#define MASK_THREADABLE (TYPE_BIT(CH_TEXT) | TYPE_BIT(CH_NEWS) | TYPE_BIT(CH_FORUM))

/* Caps keep long runs from piling up small collections without bound. */
#define MAX_THREADS  50
#define MAX_EMOJIS   50
#define MAX_STICKERS 15
#define MAX_VOICE    50
#define CHUNK_SIZE   1000
#define LARGE_GUILD  250

struct member {
    uint64_t id;
    uint32_t ver;      /* varies roles, premium, guild avatar */
    uint32_t nick_ver; /* separate so an update that omits nick keeps it */
};

struct channel {
    uint64_t id, parent, last_msg;
    uint64_t tags; /* forum: first of three consecutive tag ids */
    uint32_t ver;
    uint16_t pos;
    uint8_t type;
};

struct role {
    uint64_t id;
    uint32_t ver;
    uint16_t pos;
    bool managed;
};

struct thread {
    uint64_t id, parent, owner, last_msg;
    uint32_t ver, msgs, members;
    uint8_t type, parent_type;
};

struct voice {
    uint64_t user, chan;
    uint32_t ver;
};

/* Index invariants (swap-removal never touches the protected prefix):
 * members[0] is the bot, members[1] the owner; roles[0] is @everyone,
 * roles[1] the bot's managed role; chans[0] is the "general" text channel. */
struct guild {
    uint64_t id, owner, bot_joined_ms;
    uint32_t ver;
    bool unavailable;
    VEC(struct member) members;
    VEC(struct channel) chans;
    VEC(struct role) roles;
    VEC(struct thread) threads;
    VEC(struct voice) voice;
    VEC(uint64_t) emojis;
    VEC(uint64_t) stickers;
};

enum ev {
    EV_READY,
    EV_GUILD_CREATE,
    EV_GUILD_UPDATE,
    EV_GUILD_DELETE,
    EV_MEMBER_ADD,
    EV_MEMBER_UPDATE,
    EV_MEMBER_REMOVE,
    EV_MEMBERS_CHUNK,
    EV_CHANNEL_CREATE,
    EV_CHANNEL_UPDATE,
    EV_CHANNEL_DELETE,
    EV_ROLE_CREATE,
    EV_ROLE_UPDATE,
    EV_ROLE_DELETE,
    EV_THREAD_CREATE,
    EV_THREAD_UPDATE,
    EV_THREAD_DELETE,
    EV_THREAD_LIST_SYNC,
    EV_THREAD_MEMBERS_UPDATE,
    EV_EMOJIS_UPDATE,
    EV_STICKERS_UPDATE,
    EV_VOICE_STATE_UPDATE,
    EV_PRESENCE_UPDATE,
    EV_MESSAGE_CREATE,
    EV_TYPING_START,
    EV_USER_UPDATE,
    EV_UNKNOWN_A,
    EV_UNKNOWN_B,
    EV_UNKNOWN_C,
    EV_HELLO,
    EV_HEARTBEAT,
    EV_HEARTBEAT_ACK,
    EV_COUNT
};

static const char *const EV_NAME[EV_COUNT] = {
    [EV_READY] = "READY",
    [EV_GUILD_CREATE] = "GUILD_CREATE",
    [EV_GUILD_UPDATE] = "GUILD_UPDATE",
    [EV_GUILD_DELETE] = "GUILD_DELETE",
    [EV_MEMBER_ADD] = "GUILD_MEMBER_ADD",
    [EV_MEMBER_UPDATE] = "GUILD_MEMBER_UPDATE",
    [EV_MEMBER_REMOVE] = "GUILD_MEMBER_REMOVE",
    [EV_MEMBERS_CHUNK] = "GUILD_MEMBERS_CHUNK",
    [EV_CHANNEL_CREATE] = "CHANNEL_CREATE",
    [EV_CHANNEL_UPDATE] = "CHANNEL_UPDATE",
    [EV_CHANNEL_DELETE] = "CHANNEL_DELETE",
    [EV_ROLE_CREATE] = "GUILD_ROLE_CREATE",
    [EV_ROLE_UPDATE] = "GUILD_ROLE_UPDATE",
    [EV_ROLE_DELETE] = "GUILD_ROLE_DELETE",
    [EV_THREAD_CREATE] = "THREAD_CREATE",
    [EV_THREAD_UPDATE] = "THREAD_UPDATE",
    [EV_THREAD_DELETE] = "THREAD_DELETE",
    [EV_THREAD_LIST_SYNC] = "THREAD_LIST_SYNC",
    [EV_THREAD_MEMBERS_UPDATE] = "THREAD_MEMBERS_UPDATE",
    [EV_EMOJIS_UPDATE] = "GUILD_EMOJIS_UPDATE",
    [EV_STICKERS_UPDATE] = "GUILD_STICKERS_UPDATE",
    [EV_VOICE_STATE_UPDATE] = "VOICE_STATE_UPDATE",
    [EV_PRESENCE_UPDATE] = "PRESENCE_UPDATE",
    [EV_MESSAGE_CREATE] = "MESSAGE_CREATE",
    [EV_TYPING_START] = "TYPING_START",
    [EV_USER_UPDATE] = "USER_UPDATE",
    [EV_UNKNOWN_A] = "SOME_FUTURE_EVENT",
    [EV_UNKNOWN_B] = "GUILD_FUTURE_THING_UPDATE",
    [EV_UNKNOWN_C] = "X_EXPERIMENT_ASSIGNED",
    [EV_HELLO] = "(op 10 HELLO)",
    [EV_HEARTBEAT] = "(op 1 HEARTBEAT)",
    [EV_HEARTBEAT_ACK] = "(op 11 HEARTBEAT_ACK)",
};

/* Relative frequency of each event in the update phase (sum ~10000):
 * ~40 % member events, ~25 % messages/typing/presences, the rest spread. */
static const uint16_t EV_WEIGHT[EV_COUNT] = {
    [EV_MEMBER_UPDATE] = 1800,
    [EV_MEMBER_ADD] = 1000,
    [EV_MEMBER_REMOVE] = 800,
    [EV_MEMBERS_CHUNK] = 400,
    [EV_MESSAGE_CREATE] = 1000,
    [EV_TYPING_START] = 600,
    [EV_PRESENCE_UPDATE] = 900,
    [EV_VOICE_STATE_UPDATE] = 550,
    [EV_CHANNEL_CREATE] = 200,
    [EV_CHANNEL_UPDATE] = 500,
    [EV_CHANNEL_DELETE] = 150,
    [EV_ROLE_CREATE] = 150,
    [EV_ROLE_UPDATE] = 400,
    [EV_ROLE_DELETE] = 100,
    [EV_THREAD_CREATE] = 250,
    [EV_THREAD_UPDATE] = 250,
    [EV_THREAD_DELETE] = 150,
    [EV_THREAD_LIST_SYNC] = 50,
    [EV_THREAD_MEMBERS_UPDATE] = 200,
    [EV_EMOJIS_UPDATE] = 100,
    [EV_STICKERS_UPDATE] = 50,
    [EV_GUILD_UPDATE] = 10,
    [EV_USER_UPDATE] = 80,
    [EV_UNKNOWN_A] = 50,
    [EV_UNKNOWN_B] = 30,
    [EV_UNKNOWN_C] = 20,
    [EV_GUILD_DELETE] = 1,
};

/* Salts that separate the independent attribute streams of one id. */
enum salt {
    S_USER = 1,
    S_NICK,
    S_ROLES,
    S_MEMBER,
    S_JOIN,
    S_CHAN,
    S_ROLE,
    S_GUILD,
    S_EMOJI,
    S_STICKER,
    S_THREAD,
    S_VOICE,
    S_PRESENCE,
    S_ONLINE,
    S_CLOCK,
    S_ACK,
    S_HEARTBEAT,
    S_BOT,
};

struct opts {
    uint32_t guilds, channels, roles, members, shards;
    uint64_t updates, seed;
    bool chunked, envelope, nondispatch, stats;
    const char *path;
};

struct evstat {
    uint64_t frames, bytes;
};

struct gen {
    struct out o;
    struct opts opt;
    struct rng rng;
    uint64_t salt;
    /* snowflake allocator: last timestamp used and its next free increment */
    uint64_t id_ts;
    uint32_t id_inc;
    /* snapshot phases spread entity creation times over a window */
    uint64_t ph_start, ph_end, ph_count, ph_index;
    uint64_t now_us; /* receive clock, advanced per dispatch frame */
    uint64_t seq;    /* last dispatch sequence number */
    uint32_t since_ack, ack_gap;
    uint64_t bot_id;
    uint32_t bot_ver;
    uint64_t nonce_ctr;
    struct guild *guilds;
    uint32_t outage;     /* 1 + index of the unavailable guild, or 0 */
    uint64_t outage_end; /* update index at which it comes back */
    enum ev cur;
    uint64_t cur_start;
    uint32_t cur_shard;
    struct evstat stats[EV_COUNT];
};

static uint64_t hsh(const struct gen *g, uint64_t id, uint64_t salt)
{
    return mix64(id ^ mix64(salt ^ g->salt));
}

static uint64_t now_ms(const struct gen *g)
{
    return g->now_us / 1000;
}

/* ------------------------------------------------------------------------ */
/* Snowflakes                                                               */
/* ------------------------------------------------------------------------ */

/* Mints `block` consecutive snowflakes at (or just after) unix_ms and returns
 * the first. (timestamp, increment) pairs strictly increase, so ids never
 * repeat; worker and process bits are a function of the timestamp. */
static uint64_t snow_at(struct gen *g, uint64_t unix_ms, uint32_t block)
{
    uint64_t ts = unix_ms > DISCORD_EPOCH_MS ? unix_ms - DISCORD_EPOCH_MS : 0;
    if (ts > g->id_ts) {
        g->id_ts = ts;
        g->id_inc = 0;
    } else if (g->id_inc + block > 4096) {
        g->id_ts++;
        g->id_inc = 0;
    }
    uint64_t wp = mix64(g->id_ts) & 0x3ff;
    uint64_t id = (g->id_ts << 22) | (wp << 12) | g->id_inc;
    g->id_inc += block;
    return id;
}

static uint64_t snow_now(struct gen *g, uint32_t block)
{
    return snow_at(g, now_ms(g), block);
}

static uint64_t snow_ms(uint64_t id)
{
    return (id >> 22) + DISCORD_EPOCH_MS;
}

/* Starts a snapshot phase: about `count` ids spread over [start_ms, end_ms).
 * Each id lands in its own stratum of the window (jittered inside it), so
 * the phase never spills past its end however few ids it has; an
 * underestimated count just piles the excess on the last millisecond. */
static void phase_begin(struct gen *g, uint64_t start_ms, uint64_t end_ms, uint64_t count)
{
    g->ph_start = start_ms;
    g->ph_end = end_ms;
    g->ph_count = count ? count : 1;
    g->ph_index = 0;
}

static uint64_t phase_id(struct gen *g, uint32_t block)
{
    uint64_t step = (g->ph_end - g->ph_start) / g->ph_count;
    uint64_t t = g->ph_start + g->ph_index * step; /* <= end while index <= count */
    if (g->ph_index < g->ph_count)
        g->ph_index++;
    if (step > 1)
        t += rng_next(&g->rng) % step;
    if (t >= g->ph_end)
        t = g->ph_end - 1;
    return snow_at(g, t, block);
}

/* ------------------------------------------------------------------------ */
/* Names and short texts derived from hashes                                */
/* ------------------------------------------------------------------------ */

/* Usernames are ASCII lowercase like real post-2023 usernames. */
static void put_username(struct out *o, uint64_t h)
{
    put_word(o, P_ADJ_LC, h);
    unsigned sep = (unsigned)((h >> 10) % 4);
    if (sep == 0)
        put_c(o, '_');
    else if (sep == 1)
        put_c(o, '.');
    put_word(o, P_NOUN_LC, h >> 5);
    if ((h >> 12) % 3)
        put_u64(o, (h >> 16) % 1000);
}

/* A quoted display string, mostly "Adj Noun", sometimes non-ASCII, rarely
 * one that needs escaping; null with probability null_pct percent. */
static void put_display(struct out *o, uint64_t h, unsigned null_pct)
{
    unsigned r = (unsigned)((h >> 20) % 100);
    if (r < null_pct) {
        PUT(o, "null");
        return;
    }
    put_c(o, '"');
    if (r < 88) {
        put_word(o, P_ADJ, h >> 28);
        put_c(o, ' ');
        put_word(o, P_NOUN, h >> 34);
    } else if (r < 98) {
        put_word(o, P_NOUN, h >> 28);
        put_c(o, ' ');
        put_word(o, P_FANCY, h >> 34);
    } else {
        put_word(o, P_TRICKY, h >> 28);
    }
    put_c(o, '"');
}

/* Words from the message vocabulary, space separated, no quotes. Roughly
 * one text in twenty carries an escaping-sensitive fragment. */
static void put_sentence(struct out *o, uint64_t h, unsigned nwords)
{
    for (unsigned i = 0; i < nwords; i++) {
        uint64_t w = mix64(h + i);
        if (i)
            put_c(o, ' ');
        if (w % 97 == 0)
            put_word(o, P_TRICKY, w >> 8);
        else if (w % 31 == 0)
            put_word(o, P_FANCY, w >> 8);
        else
            put_word(o, P_WORD, w >> 8);
    }
}

static void put_qsentence(struct out *o, uint64_t h, unsigned nwords)
{
    put_c(o, '"');
    put_sentence(o, h, nwords);
    put_c(o, '"');
}

/* ------------------------------------------------------------------------ */
/* Users and members                                                        */
/* ------------------------------------------------------------------------ */

static const uint32_t PUBLIC_FLAGS[8] = {0, 0, 0, 0, 64, 128, 256, 4194304};

/* The bot user; `self` adds the fields only the current user sees. */
static void put_bot_user_fields(struct gen *g, bool self)
{
    struct out *o = &g->o;
    PUT(o, "\"username\":\"gatestore-bot\",\"public_flags\":0,\"id\":");
    put_id(o, g->bot_id);
    PUT(o, ",\"global_name\":null,\"discriminator\":\"0\",\"bot\":true,\"avatar\":");
    put_hash32(o, hsh(g, g->bot_id, (uint64_t)S_BOT << 32 | g->bot_ver), false);
    if (self)
        PUT(o, ",\"verified\":true,\"mfa_enabled\":false,\"email\":null,\"flags\":0");
}

static void put_user_fields(struct gen *g, uint64_t uid)
{
    struct out *o = &g->o;
    if (uid == g->bot_id) {
        put_bot_user_fields(g, false);
        return;
    }
    uint64_t h = hsh(g, uid, S_USER);
    PUT(o, "\"username\":\"");
    put_username(o, h);
    PUT(o, "\",\"public_flags\":");
    put_u64(o, PUBLIC_FLAGS[(h >> 40) % 8]);
    PUT(o, ",\"primary_guild\":null,\"id\":");
    put_id(o, uid);
    PUT(o, ",\"global_name\":");
    put_display(o, h, 10);
    PUT(o, ",\"display_name_styles\":null,\"discriminator\":\"0\",\"collectibles\":null,"
           "\"clan\":null,");
    if ((h >> 44) % 100 < 3)
        PUT(o, "\"bot\":true,");
    PUT(o, "\"avatar_decoration_data\":null,\"avatar\":");
    unsigned a = (unsigned)((h >> 52) % 100);
    if (a < 15)
        PUT(o, "null");
    else
        put_hash32(o, mix64(h), a >= 95);
}

static void put_user(struct gen *g, uint64_t uid)
{
    put_c(&g->o, '{');
    put_user_fields(g, uid);
    put_c(&g->o, '}');
}

static uint64_t member_joined_ms(const struct gen *g, const struct guild *gd,
                                 const struct member *m)
{
    if (m->id == g->bot_id)
        return gd->bot_joined_ms;
    uint64_t born = snow_ms(m->id);
    uint64_t h = hsh(g, m->id, S_JOIN);
    if (born < T_SNAPSHOT_END)
        return born + h % (T_SNAPSHOT_END - born);
    return born; /* accounts minted during the run join the moment they exist */
}

static bool contains(const uint32_t *v, uint32_t n, uint32_t x)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* Role ids of a member: 0-4 distinct non-managed roles chosen by hash from
 * the roles that exist right now, so they can never dangle. */
static void put_member_roles(struct gen *g, const struct guild *gd, const struct member *m)
{
    struct out *o = &g->o;
    put_c(o, '[');
    if (m->id == g->bot_id) {
        if (gd->roles.n >= 2)
            put_id(o, gd->roles.v[1].id);
        put_c(o, ']');
        return;
    }
    uint32_t avail = gd->roles.n > 2 ? gd->roles.n - 2 : 0;
    uint64_t h = hsh(g, m->id, (uint64_t)S_ROLES << 32 | m->ver);
    uint32_t k = (uint32_t)(h % 5);
    if (k > avail)
        k = avail;
    uint32_t picked[4];
    for (uint32_t j = 0; j < k; j++) {
        uint32_t idx = (uint32_t)((h >> (8 + 12 * j)) % avail);
        while (contains(picked, j, idx)) /* terminates: k <= avail */
            idx = (idx + 1) % avail;
        picked[j] = idx;
        if (j)
            put_c(o, ',');
        put_id(o, gd->roles.v[2 + idx].id);
    }
    put_c(o, ']');
}

static void put_nick(struct gen *g, const struct member *m)
{
    struct out *o = &g->o;
    if (m->id == g->bot_id) {
        PUT(o, "null");
        return;
    }
    uint64_t h = hsh(g, m->id, (uint64_t)S_NICK << 32 | m->nick_ver);
    if (h % 100 < 70) {
        PUT(o, "null");
        return;
    }
    put_display(o, h, 0);
}

enum member_flags {
    M_USER = 1,    /* embed the user object */
    M_GUILD = 2,   /* add guild_id (dispatch payloads) */
    M_NO_NICK = 4, /* leave the nick key out (partial update) */
};

static void put_member_body(struct gen *g, const struct guild *gd, const struct member *m,
                            unsigned flags)
{
    struct out *o = &g->o;
    uint64_t h = hsh(g, m->id, (uint64_t)S_MEMBER << 32 | m->ver);
    uint64_t joined = member_joined_ms(g, gd, m);
    if (flags & M_USER) {
        PUT(o, "\"user\":");
        put_user(g, m->id);
        put_c(o, ',');
    }
    if (flags & M_GUILD) {
        PUT(o, "\"guild_id\":");
        put_id(o, gd->id);
        put_c(o, ',');
    }
    PUT(o, "\"roles\":");
    put_member_roles(g, gd, m);
    PUT(o, ",\"premium_since\":");
    if (h % 25 == 0 && joined < now_ms(g))
        put_ts_ms(o, joined + (h >> 8) % (now_ms(g) - joined + 1));
    else
        PUT(o, "null");
    PUT(o, ",\"pending\":false");
    if (!(flags & M_NO_NICK)) {
        PUT(o, ",\"nick\":");
        put_nick(g, m);
    }
    PUT(o, ",\"mute\":false,\"joined_at\":");
    put_ts_ms(o, joined);
    PUT(o, ",\"flags\":");
    put_c(o, (h >> 20) % 20 == 0 ? '1' : '0');
    PUT(o, ",\"deaf\":false,\"communication_disabled_until\":null,\"banner\":null,\"avatar\":");
    if ((h >> 28) % 40 == 0)
        put_hash32(o, h, false);
    else
        PUT(o, "null");
}

static void put_member(struct gen *g, const struct guild *gd, const struct member *m,
                       unsigned flags)
{
    put_c(&g->o, '{');
    put_member_body(g, gd, m, flags);
    put_c(&g->o, '}');
}

/* ------------------------------------------------------------------------ */
/* Roles, emojis, stickers                                                  */
/* ------------------------------------------------------------------------ */

static void put_role_body(struct gen *g, const struct guild *gd, const struct role *r)
{
    struct out *o = &g->o;
    bool everyone = r->id == gd->id;
    uint64_t h = hsh(g, r->id, (uint64_t)S_ROLE << 32 | r->ver);
    uint32_t color = (everyone || r->managed || h % 10 < 3) ? 0 : (uint32_t)(h >> 8) & 0xffffff;
    PUT(o, "\"id\":");
    put_id(o, r->id);
    PUT(o, ",\"name\":");
    if (everyone) {
        PUT(o, "\"@everyone\"");
    } else if (r->managed) {
        PUT(o, "\"gatestore-bot\"");
    } else {
        put_c(o, '"');
        put_word(o, P_ROLE, h >> 32);
        if ((h >> 44) % 4 == 0) {
            put_c(o, ' ');
            put_u64(o, (h >> 48) % 100);
        }
        put_c(o, '"');
    }
    PUT(o, ",\"description\":null,\"permissions\":");
    if (everyone)
        PUT(o, "\"2248473465835073\"");
    else
        put_qword(o, P_PERMS, h >> 36);
    PUT(o, ",\"position\":");
    put_u64(o, r->pos);
    PUT(o, ",\"color\":");
    put_u64(o, color);
    PUT(o, ",\"colors\":{\"primary_color\":");
    put_u64(o, color);
    PUT(o, ",\"secondary_color\":null,\"tertiary_color\":null},\"hoist\":");
    put_bool(o, !everyone && (h >> 40) % 3 == 0);
    PUT(o, ",\"managed\":");
    put_bool(o, r->managed);
    PUT(o, ",\"mentionable\":");
    put_bool(o, !everyone && (h >> 42) % 4 == 0);
    PUT(o, ",\"icon\":null,\"unicode_emoji\":");
    if (!everyone && (h >> 50) % 10 == 0)
        put_qword(o, P_EMOJI_CHAR, h >> 54);
    else
        PUT(o, "null");
    PUT(o, ",\"flags\":0");
    if (r->managed) {
        PUT(o, ",\"tags\":{\"bot_id\":");
        put_id(o, g->bot_id);
        put_c(o, '}');
    }
}

static void put_role(struct gen *g, const struct guild *gd, const struct role *r)
{
    put_c(&g->o, '{');
    put_role_body(g, gd, r);
    put_c(&g->o, '}');
}

static void put_roles(struct gen *g, const struct guild *gd)
{
    put_c(&g->o, '[');
    for (uint32_t i = 0; i < gd->roles.n; i++) {
        if (i)
            put_c(&g->o, ',');
        put_role(g, gd, &gd->roles.v[i]);
    }
    put_c(&g->o, ']');
}

static void put_emoji(struct gen *g, uint64_t id)
{
    struct out *o = &g->o;
    uint64_t h = hsh(g, id, S_EMOJI);
    PUT(o, "{\"id\":");
    put_id(o, id);
    PUT(o, ",\"name\":\"");
    put_word(o, P_ADJ_LC, h);
    put_c(o, '_');
    put_word(o, P_NOUN_LC, h >> 8);
    PUT(o, "\",\"roles\":[],\"require_colons\":true,\"managed\":false,\"animated\":");
    put_bool(o, (h >> 20) % 5 == 0);
    PUT(o, ",\"available\":true}");
}

static void put_emojis(struct gen *g, const struct guild *gd)
{
    put_c(&g->o, '[');
    for (uint32_t i = 0; i < gd->emojis.n; i++) {
        if (i)
            put_c(&g->o, ',');
        put_emoji(g, gd->emojis.v[i]);
    }
    put_c(&g->o, ']');
}

static void put_sticker(struct gen *g, const struct guild *gd, uint64_t id)
{
    struct out *o = &g->o;
    uint64_t h = hsh(g, id, S_STICKER);
    PUT(o, "{\"id\":");
    put_id(o, id);
    PUT(o, ",\"name\":\"");
    put_word(o, P_ADJ, h);
    put_c(o, ' ');
    put_word(o, P_NOUN, h >> 8);
    PUT(o, "\",\"tags\":");
    put_qword(o, P_EMOJI_CHAR, h >> 16);
    PUT(o, ",\"type\":2,\"format_type\":");
    put_u64(o, 1 + (h >> 24) % 4);
    PUT(o, ",\"description\":");
    if ((h >> 30) % 3 == 0)
        PUT(o, "null");
    else
        put_qsentence(o, h >> 32, 2 + (unsigned)((h >> 34) % 5));
    PUT(o, ",\"asset\":\"\",\"available\":true,\"guild_id\":");
    put_id(o, gd->id);
    put_c(o, '}');
}

static void put_stickers(struct gen *g, const struct guild *gd)
{
    put_c(&g->o, '[');
    for (uint32_t i = 0; i < gd->stickers.n; i++) {
        if (i)
            put_c(&g->o, ',');
        put_sticker(g, gd, gd->stickers.v[i]);
    }
    put_c(&g->o, ']');
}

/* ------------------------------------------------------------------------ */
/* Channels and threads                                                     */
/* ------------------------------------------------------------------------ */

static void put_channel_name(struct gen *g, const struct guild *gd, const struct channel *c,
                             uint64_t h)
{
    struct out *o = &g->o;
    if (c->id == gd->chans.v[0].id) {
        PUT(o, "\"general\"");
        return;
    }
    if (c->type == CH_CATEGORY) {
        put_qword(o, P_CATEGORY, h);
        return;
    }
    put_c(o, '"');
    if (c->type == CH_VOICE || c->type == CH_STAGE) {
        put_word(o, P_NOUN, h);
        put_c(o, ' ');
        put_u64(o, 1 + (h >> 8) % 9);
    } else {
        put_word(o, P_CHAN, h);
        if ((h >> 8) % 4 == 0) {
            put_c(o, '-');
            put_word(o, P_CHAN, h >> 12);
        }
        if ((h >> 20) % 5 == 0) {
            put_c(o, '-');
            put_u64(o, (h >> 24) % 20);
        }
    }
    put_c(o, '"');
}

/* Overwrites only name @everyone and live roles, so they cannot dangle. */
static void put_overwrites(struct gen *g, const struct guild *gd, uint64_t h)
{
    struct out *o = &g->o;
    unsigned r = (unsigned)(h % 10);
    if (r < 5) {
        PUT(o, "[]");
        return;
    }
    PUT(o, "[{\"id\":");
    put_id(o, gd->id);
    PUT(o, ",\"type\":0,\"allow\":\"0\",\"deny\":\"1024\"}");
    if (r >= 8 && gd->roles.n > 1) {
        PUT(o, ",{\"id\":");
        put_id(o, gd->roles.v[1 + (h >> 8) % (gd->roles.n - 1)].id);
        PUT(o, ",\"type\":0,\"allow\":\"3072\",\"deny\":\"0\"}");
    }
    put_c(o, ']');
}

static const uint32_t RATE_LIMITS[8] = {0, 0, 0, 0, 0, 5, 10, 30};
static const uint32_t BITRATES[4] = {64000, 64000, 96000, 128000};
static const uint32_t USER_LIMITS[4] = {0, 0, 10, 99};

static void put_forum_tags(struct gen *g, const struct channel *c)
{
    struct out *o = &g->o;
    PUT(o, ",\"available_tags\":[");
    for (uint32_t i = 0; i < 3; i++) {
        uint64_t h = hsh(g, c->tags + i, S_CHAN);
        if (i)
            put_c(o, ',');
        PUT(o, "{\"id\":");
        put_id(o, c->tags + i);
        PUT(o, ",\"name\":");
        put_qword(o, P_WORD, h);
        PUT(o, ",\"moderated\":false,\"emoji_id\":null,\"emoji_name\":");
        put_qword(o, P_EMOJI_CHAR, h >> 8);
        put_c(o, '}');
    }
    PUT(o, "],\"default_reaction_emoji\":{\"emoji_id\":null,\"emoji_name\":\"👍\"},"
           "\"default_sort_order\":null,\"default_forum_layout\":0,\"template\":\"\"");
}

/* Text-like settings shared by text, announcement and forum channels. */
static void put_text_settings(struct gen *g, const struct channel *c, uint64_t h)
{
    struct out *o = &g->o;
    PUT(o, ",\"topic\":");
    if ((h >> 28) % 10 < 3)
        PUT(o, "null");
    else
        put_qsentence(o, h >> 8, 3 + (unsigned)((h >> 32) % 10));
    PUT(o, ",\"nsfw\":");
    put_bool(o, (h >> 36) % 20 == 0);
    PUT(o, ",\"rate_limit_per_user\":");
    put_u64(o, RATE_LIMITS[(h >> 40) % 8]);
    PUT(o, ",\"last_message_id\":");
    put_id(o, c->last_msg);
    PUT(o, ",\"default_thread_rate_limit_per_user\":0");
}

static void put_voice_settings(struct gen *g, const struct channel *c, uint64_t h)
{
    struct out *o = &g->o;
    PUT(o, ",\"bitrate\":");
    put_u64(o, BITRATES[(h >> 44) % 4]);
    PUT(o, ",\"user_limit\":");
    put_u64(o, USER_LIMITS[(h >> 46) % 4]);
    PUT(o, ",\"rtc_region\":null,\"nsfw\":false,\"rate_limit_per_user\":0,\"last_message_id\":");
    put_id(o, c->last_msg);
    if (c->type == CH_STAGE)
        PUT(o, ",\"topic\":null");
    else
        PUT(o, ",\"voice_background_display\":null,\"status\":null");
}

/* Real GUILD_CREATE channels have no guild_id; dispatches carry it. */
static void put_channel_body(struct gen *g, const struct guild *gd, const struct channel *c,
                             bool with_guild)
{
    struct out *o = &g->o;
    uint64_t h = hsh(g, c->id, (uint64_t)S_CHAN << 32 | c->ver);
    uint64_t hn = hsh(g, c->id, S_CHAN); /* names mostly survive updates */
    if (c->ver % 4 == 3)
        hn = h;
    PUT(o, "\"id\":");
    put_id(o, c->id);
    PUT(o, ",\"type\":");
    put_u64(o, c->type);
    if (with_guild) {
        PUT(o, ",\"guild_id\":");
        put_id(o, gd->id);
    }
    PUT(o, ",\"name\":");
    put_channel_name(g, gd, c, hn);
    PUT(o, ",\"position\":");
    put_u64(o, c->pos);
    PUT(o, ",\"permission_overwrites\":");
    put_overwrites(g, gd, h >> 16);
    PUT(o, ",\"flags\":0");
    if (c->type == CH_CATEGORY)
        return;
    PUT(o, ",\"parent_id\":");
    put_id(o, c->parent);
    if (c->type == CH_VOICE || c->type == CH_STAGE) {
        put_voice_settings(g, c, h);
        return;
    }
    put_text_settings(g, c, h);
    if (c->type == CH_FORUM)
        put_forum_tags(g, c);
    else
        PUT(o, ",\"icon_emoji\":null,\"theme_color\":null");
}

static void put_channel(struct gen *g, const struct guild *gd, const struct channel *c,
                        bool with_guild)
{
    put_c(&g->o, '{');
    put_channel_body(g, gd, c, with_guild);
    put_c(&g->o, '}');
}

static void put_thread_body(struct gen *g, const struct guild *gd, const struct thread *t)
{
    struct out *o = &g->o;
    uint64_t h = hsh(g, t->id, (uint64_t)S_THREAD << 32 | t->ver);
    uint64_t created = snow_ms(t->id);
    PUT(o, "\"id\":");
    put_id(o, t->id);
    PUT(o, ",\"type\":");
    put_u64(o, t->type);
    PUT(o, ",\"guild_id\":");
    put_id(o, gd->id);
    PUT(o, ",\"parent_id\":");
    put_id(o, t->parent);
    PUT(o, ",\"owner_id\":");
    put_id(o, t->owner);
    PUT(o, ",\"name\":");
    put_qsentence(o, hsh(g, t->id, S_THREAD), 2 + (unsigned)(t->id % 4));
    PUT(o, ",\"last_message_id\":");
    put_id(o, t->last_msg);
    PUT(o, ",\"message_count\":");
    put_u64(o, t->msgs);
    PUT(o, ",\"member_count\":");
    put_u64(o, t->members);
    PUT(o, ",\"rate_limit_per_user\":0,\"flags\":0,\"total_message_sent\":");
    put_u64(o, t->msgs);
    PUT(o, ",\"thread_metadata\":{\"archived\":");
    bool archived = t->ver && h % 5 == 0;
    put_bool(o, archived);
    PUT(o, ",\"archive_timestamp\":");
    put_ts_ms(o, archived ? created + (h >> 8) % 86400000 : created);
    PUT(o, ",\"auto_archive_duration\":");
    put_u64(o, (h >> 40) % 2 ? 1440 : 10080);
    PUT(o, ",\"locked\":false,\"create_timestamp\":");
    put_ts_ms(o, created);
    if (t->type == CH_PRIVATE_THREAD)
        PUT(o, ",\"invitable\":true");
    put_c(o, '}');
    if (t->parent_type == CH_FORUM)
        PUT(o, ",\"applied_tags\":[]");
}

static void put_thread(struct gen *g, const struct guild *gd, const struct thread *t)
{
    put_c(&g->o, '{');
    put_thread_body(g, gd, t);
    put_c(&g->o, '}');
}

/* ------------------------------------------------------------------------ */
/* Voice states and presences                                               */
/* ------------------------------------------------------------------------ */

/* Voice state fields for channel `chan`; 0 prints null, i.e. a leave. */
static void put_voice_body(struct gen *g, const struct voice *v, uint64_t chan)
{
    struct out *o = &g->o;
    uint64_t h = hsh(g, v->user, (uint64_t)S_VOICE << 32 | v->ver);
    PUT(o, "\"user_id\":");
    put_id(o, v->user);
    PUT(o, ",\"suppress\":false,\"session_id\":");
    put_hash32(o, hsh(g, v->user, S_VOICE), false);
    PUT(o, ",\"self_video\":");
    put_bool(o, h % 20 == 0);
    PUT(o, ",\"self_mute\":");
    put_bool(o, (h >> 8) % 3 == 0);
    PUT(o, ",\"self_deaf\":");
    put_bool(o, (h >> 16) % 8 == 0);
    PUT(o, ",\"request_to_speak_timestamp\":null,\"mute\":false,\"deaf\":false,\"channel_id\":");
    put_id(o, chan);
}

static void put_activity(struct gen *g, uint64_t uid, uint64_t h)
{
    struct out *o = &g->o;
    uint64_t start = now_ms(g) - (h >> 24) % 7200000;
    unsigned kind = (unsigned)(h % 3);
    if (kind == 0) {
        PUT(o, "{\"type\":0,\"name\":");
        put_qword(o, P_GAME, h >> 8);
        PUT(o, ",\"id\":\"");
        put_hex(o, h >> 4, 16);
        PUT(o, "\",\"created_at\":");
        put_u64(o, start);
        PUT(o, ",\"timestamps\":{\"start\":");
        put_u64(o, start);
        PUT(o, "}}");
    } else if (kind == 1) {
        PUT(o, "{\"type\":4,\"state\":");
        put_qword(o, P_STATUS, h >> 8);
        PUT(o, ",\"name\":\"Custom Status\",\"id\":\"custom\",\"emoji\":{\"name\":");
        put_qword(o, P_EMOJI_CHAR, h >> 12);
        PUT(o, "},\"created_at\":");
        put_u64(o, start);
        put_c(o, '}');
    } else {
        PUT(o, "{\"type\":2,\"name\":\"Spotify\",\"id\":\"spotify:1\",\"details\":");
        put_qword(o, P_SONG, h >> 8);
        PUT(o, ",\"state\":");
        put_qword(o, P_ARTIST, h >> 8);
        PUT(o, ",\"timestamps\":{\"start\":");
        put_u64(o, start);
        PUT(o, ",\"end\":");
        put_u64(o, start + 120000 + (h >> 40) % 180000);
        PUT(o, "},\"party\":{\"id\":\"spotify:");
        put_u64(o, uid);
        PUT(o, "\"},\"assets\":{\"large_image\":\"spotify:ab67616d0000b273");
        put_hex(o, mix64(h), 16);
        put_hex(o, h, 8);
        PUT(o, "\"},\"sync_id\":\"");
        put_hex(o, mix64(h + 1), 16);
        PUT(o, "\",\"flags\":48,\"created_at\":");
        put_u64(o, start);
        put_c(o, '}');
    }
}

static const char *const STATUS_NAMES[4] = {"online", "online", "idle", "dnd"};

/* Presence fields; `var` changes them between updates. Dispatches carry
 * guild_id and now and then the full user object. */
static void put_presence_body(struct gen *g, const struct guild *gd, uint64_t uid, uint64_t var,
                              bool dispatch)
{
    struct out *o = &g->o;
    uint64_t h = hsh(g, uid, (uint64_t)S_PRESENCE << 32 ^ var);
    const char *st = STATUS_NAMES[h % 4];
    size_t stn = strlen(st);
    PUT(o, "\"user\":");
    if (dispatch && (h >> 4) % 10 == 0) {
        put_user(g, uid);
    } else {
        PUT(o, "{\"id\":");
        put_id(o, uid);
        put_c(o, '}');
    }
    PUT(o, ",\"status\":\"");
    put_n(o, st, stn);
    PUT(o, "\",\"client_status\":{");
    unsigned cs = (unsigned)((h >> 8) % 4);
    if (cs == 0)
        PUT(o, "\"mobile\":\"");
    else if (cs == 1)
        PUT(o, "\"web\":\"");
    else
        PUT(o, "\"desktop\":\"");
    put_n(o, st, stn);
    PUT(o, "\"},\"activities\":[");
    unsigned na = (unsigned)((h >> 12) % 5);
    if (na >= 2) {
        put_activity(g, uid, mix64(h));
        if (na == 4) {
            put_c(o, ',');
            put_activity(g, uid, mix64(h + 7));
        }
    }
    put_c(o, ']');
    if (dispatch) {
        PUT(o, ",\"guild_id\":");
        put_id(o, gd->id);
    }
}

static void put_presence(struct gen *g, const struct guild *gd, uint64_t uid)
{
    put_c(&g->o, '{');
    put_presence_body(g, gd, uid, 0, false);
    put_c(&g->o, '}');
}

/* ------------------------------------------------------------------------ */
/* Guild objects                                                            */
/* ------------------------------------------------------------------------ */

static void put_guild_name(struct out *o, uint64_t h)
{
    put_c(o, '"');
    if (h % 10 == 0) {
        put_word(o, P_FANCY, h >> 8);
    } else {
        put_word(o, P_ADJ, h >> 8);
        put_c(o, ' ');
        put_word(o, P_NOUN, h >> 16);
    }
    put_c(o, ' ');
    put_word(o, P_GUILD_SUFFIX, h >> 24);
    put_c(o, '"');
}

static void put_features(struct out *o, uint64_t h)
{
    bool first = true;
    put_c(o, '[');
    for (uint32_t i = 0; i < POOLS[P_FEATURES].n; i++) {
        if ((h >> (2 * i)) % 4 != 0)
            continue;
        if (!first)
            put_c(o, ',');
        first = false;
        put_qword(o, P_FEATURES, i);
    }
    put_c(o, ']');
}

/* The guild's own fields plus roles, emojis and stickers (GUILD_UPDATE). */
static void put_guild_fields(struct gen *g, const struct guild *gd)
{
    struct out *o = &g->o;
    uint64_t hs = hsh(g, gd->id, S_GUILD); /* stable attributes */
    uint64_t h = hsh(g, gd->id, (uint64_t)S_GUILD << 32 | gd->ver);
    PUT(o, "\"id\":");
    put_id(o, gd->id);
    PUT(o, ",\"name\":");
    put_guild_name(o, gd->ver % 3 == 2 ? h : hs);
    PUT(o, ",\"icon\":");
    if (h % 8 == 0)
        PUT(o, "null");
    else
        put_hash32(o, h, (h >> 3) % 5 == 0);
    PUT(o, ",\"description\":null,\"splash\":null,\"discovery_splash\":null,\"banner\":null,"
           "\"owner_id\":");
    put_id(o, gd->owner);
    PUT(o, ",\"afk_channel_id\":null,\"afk_timeout\":300,\"system_channel_id\":");
    put_id(o, gd->chans.v[0].id);
    PUT(o, ",\"system_channel_flags\":0,\"rules_channel_id\":null,"
           "\"public_updates_channel_id\":null,\"safety_alerts_channel_id\":null,\"features\":");
    put_features(o, hs >> 8);
    PUT(o, ",\"verification_level\":");
    put_u64(o, (hs >> 40) % 5);
    PUT(o, ",\"default_message_notifications\":1,\"explicit_content_filter\":");
    put_u64(o, (hs >> 44) % 3);
    PUT(o, ",\"mfa_level\":0,\"nsfw_level\":0,\"nsfw\":false,\"premium_tier\":");
    put_u64(o, (h >> 48) % 4);
    PUT(o, ",\"premium_subscription_count\":");
    put_u64(o, (h >> 50) % 30);
    PUT(o, ",\"preferred_locale\":\"en-US\",\"vanity_url_code\":null,\"max_members\":500000,"
           "\"max_video_channel_users\":25,\"max_stage_video_channel_users\":50,"
           "\"application_id\":null,\"home_header\":null,\"hub_type\":null,"
           "\"incidents_data\":null,\"latest_onboarding_question_id\":null,"
           "\"premium_progress_bar_enabled\":false,\"roles\":");
    put_roles(g, gd);
    PUT(o, ",\"emojis\":");
    put_emojis(g, gd);
    PUT(o, ",\"stickers\":");
    put_stickers(g, gd);
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                   */
/* ------------------------------------------------------------------------ */

static void envelope_tail(struct gen *g, uint64_t us, uint32_t shard)
{
    struct out *o = &g->o;
    PUT(o, ",\"received_at\":");
    put_ts_us_z(o, us);
    PUT(o, ",\"shard\":");
    put_u64(o, shard);
    put_c(o, '}');
}

static void count_frame(struct gen *g, enum ev e, uint64_t start)
{
    g->stats[e].frames++;
    g->stats[e].bytes += out_total(&g->o) - start;
}

/* A non-dispatch frame: never advances the clock or `s`, so dispatch frames
 * are byte-identical with and without --nondispatch. */
static void nd_frame(struct gen *g, enum ev e, uint64_t d)
{
    struct out *o = &g->o;
    uint64_t start = out_total(o);
    if (g->opt.envelope)
        PUT(o, "{\"frame\":");
    if (e == EV_HELLO) {
        PUT(o, "{\"op\":10,\"s\":null,\"t\":null,\"d\":{\"heartbeat_interval\":41250,"
               "\"_trace\":[\"[\\\"gateway-prd-us-east1-b-0f3k\\\",{\\\"micros\\\":0.0}]\"]}}");
    } else if (e == EV_HEARTBEAT) {
        PUT(o, "{\"op\":1,\"d\":");
        put_u64(o, d);
        put_c(o, '}');
    } else {
        PUT(o, "{\"op\":11}");
    }
    if (g->opt.envelope)
        envelope_tail(g, g->now_us + 1 + (e == EV_HEARTBEAT_ACK), 0);
    put_c(o, '\n');
    count_frame(g, e, start);
}

/* Heartbeat ACKs every ~1000 frames, a server heartbeat request now and
 * then; both driven by hashes of `s`, never by the event stream's PRNG. */
static void sprinkle(struct gen *g)
{
    if (++g->since_ack >= g->ack_gap) {
        nd_frame(g, EV_HEARTBEAT_ACK, 0);
        g->since_ack = 0;
        g->ack_gap = 900 + (uint32_t)(hsh(g, g->seq, S_ACK) % 201);
    } else if (hsh(g, g->seq, S_HEARTBEAT) % 4000 == 0) {
        nd_frame(g, EV_HEARTBEAT, g->seq);
    }
}

static void frame_open(struct gen *g, enum ev e, uint64_t guild_id)
{
    struct out *o = &g->o;
    const char *name = EV_NAME[e];
    g->now_us += 1000 + hsh(g, g->seq, S_CLOCK) % 4000;
    g->cur = e;
    g->cur_start = out_total(o);
    g->cur_shard = guild_id ? (uint32_t)((guild_id >> 22) % g->opt.shards) : 0;
    if (g->opt.envelope)
        PUT(o, "{\"frame\":");
    PUT(o, "{\"op\":0,\"t\":\"");
    put_n(o, name, strlen(name));
    PUT(o, "\",\"s\":");
    put_u64(o, ++g->seq);
    PUT(o, ",\"d\":{");
}

static void frame_close(struct gen *g)
{
    struct out *o = &g->o;
    PUT(o, "}}");
    if (g->opt.envelope)
        envelope_tail(g, g->now_us, g->cur_shard);
    put_c(o, '\n');
    count_frame(g, g->cur, g->cur_start);
    if (g->opt.nondispatch)
        sprinkle(g);
}

/* ------------------------------------------------------------------------ */
/* Snapshot frames                                                          */
/* ------------------------------------------------------------------------ */

static void emit_ready(struct gen *g)
{
    struct out *o = &g->o;
    frame_open(g, EV_READY, 0);
    PUT(o, "\"v\":10,\"user_settings\":{},\"user\":{");
    put_bot_user_fields(g, true);
    PUT(o, "},\"session_type\":\"normal\",\"session_id\":");
    put_hash32(o, hsh(g, g->bot_id, S_BOT), false);
    PUT(o, ",\"resume_gateway_url\":\"wss://gateway-us-east1-b.discord.gg\","
           "\"relationships\":[],\"private_channels\":[],\"presences\":[],\"guilds\":[");
    for (uint32_t i = 0; i < g->opt.guilds; i++) {
        if (i)
            put_c(o, ',');
        PUT(o, "{\"unavailable\":true,\"id\":");
        put_id(o, g->guilds[i].id);
        put_c(o, '}');
    }
    PUT(o, "],\"guild_join_requests\":[],\"geo_ordered_rtc_regions\":[\"us-east\",\"us-central\","
           "\"atlanta\",\"us-south\",\"newark\"],\"auth\":{},\"application\":{\"id\":");
    put_id(o, g->bot_id);
    PUT(o, ",\"flags\":565248},\"shard\":[0,");
    put_u64(o, g->opt.shards);
    PUT(o, "],\"_trace\":[\"[\\\"gateway-prd-us-east1-b-0f3k\\\",{\\\"micros\\\":84211,"
           "\\\"calls\\\":[\\\"id_created\\\",{\\\"micros\\\":912,\\\"calls\\\":[]}]}]\"]");
    frame_close(g);
}

/* Presences for about one member in six: the "online" ones. */
static void put_guild_presences(struct gen *g, const struct guild *gd)
{
    bool first = true;
    put_c(&g->o, '[');
    for (uint32_t i = 1; i < gd->members.n; i++) {
        uint64_t uid = gd->members.v[i].id;
        if (hsh(g, uid, S_ONLINE) % 6 != 0)
            continue;
        if (!first)
            put_c(&g->o, ',');
        first = false;
        put_presence(g, gd, uid);
    }
    put_c(&g->o, ']');
}

static void put_guild_voice_states(struct gen *g, const struct guild *gd)
{
    put_c(&g->o, '[');
    for (uint32_t i = 0; i < gd->voice.n; i++) {
        if (i)
            put_c(&g->o, ',');
        put_c(&g->o, '{');
        put_voice_body(g, &gd->voice.v[i], gd->voice.v[i].chan);
        put_c(&g->o, '}');
    }
    put_c(&g->o, ']');
}

/* Members in GUILD_CREATE: all of them, or only the bot when chunking. */
static void put_guild_members(struct gen *g, const struct guild *gd)
{
    uint32_t n = g->opt.chunked ? 1 : gd->members.n;
    put_c(&g->o, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            put_c(&g->o, ',');
        put_member(g, gd, &gd->members.v[i], M_USER);
    }
    put_c(&g->o, ']');
}

static void put_guild_channels(struct gen *g, const struct guild *gd)
{
    put_c(&g->o, '[');
    for (uint32_t i = 0; i < gd->chans.n; i++) {
        if (i)
            put_c(&g->o, ',');
        put_channel(g, gd, &gd->chans.v[i], false);
    }
    put_c(&g->o, ']');
}

static void put_guild_threads(struct gen *g, const struct guild *gd)
{
    put_c(&g->o, '[');
    for (uint32_t i = 0; i < gd->threads.n; i++) {
        if (i)
            put_c(&g->o, ',');
        put_thread(g, gd, &gd->threads.v[i]);
    }
    put_c(&g->o, ']');
}

/* All members as GUILD_MEMBERS_CHUNK frames of up to CHUNK_SIZE, the way a
 * bot receives them after requesting the member list. */
static void emit_member_chunks(struct gen *g, const struct guild *gd)
{
    struct out *o = &g->o;
    uint32_t n = gd->members.n;
    uint32_t count = (n + CHUNK_SIZE - 1) / CHUNK_SIZE;
    uint64_t nonce = ++g->nonce_ctr;
    for (uint32_t c = 0; c < count; c++) {
        uint32_t end = (c + 1) * CHUNK_SIZE < n ? (c + 1) * CHUNK_SIZE : n;
        frame_open(g, EV_MEMBERS_CHUNK, gd->id);
        PUT(o, "\"guild_id\":");
        put_id(o, gd->id);
        PUT(o, ",\"members\":[");
        for (uint32_t i = c * CHUNK_SIZE; i < end; i++) {
            if (i != c * CHUNK_SIZE)
                put_c(o, ',');
            put_member(g, gd, &gd->members.v[i], M_USER);
        }
        PUT(o, "],\"chunk_index\":");
        put_u64(o, c);
        PUT(o, ",\"chunk_count\":");
        put_u64(o, count);
        PUT(o, ",\"nonce\":\"gs-init-");
        put_u64(o, nonce);
        put_c(o, '"');
        frame_close(g);
    }
}

static void emit_guild_create(struct gen *g, struct guild *gd)
{
    struct out *o = &g->o;
    gd->unavailable = false;
    frame_open(g, EV_GUILD_CREATE, gd->id);
    put_guild_fields(g, gd);
    PUT(o, ",\"joined_at\":");
    put_ts_ms(o, gd->bot_joined_ms);
    PUT(o, ",\"large\":");
    put_bool(o, gd->members.n > LARGE_GUILD);
    PUT(o, ",\"unavailable\":false,\"lazy\":true,\"member_count\":");
    put_u64(o, gd->members.n);
    PUT(o, ",\"voice_states\":");
    put_guild_voice_states(g, gd);
    PUT(o, ",\"members\":");
    put_guild_members(g, gd);
    PUT(o, ",\"channels\":");
    put_guild_channels(g, gd);
    PUT(o, ",\"threads\":");
    put_guild_threads(g, gd);
    PUT(o, ",\"presences\":");
    put_guild_presences(g, gd);
    PUT(o, ",\"stage_instances\":[],\"guild_scheduled_events\":[],\"soundboard_sounds\":[],"
           "\"embedded_activities\":[],\"activity_instances\":[],"
           "\"application_command_counts\":{}");
    frame_close(g);
    if (g->opt.chunked)
        emit_member_chunks(g, gd);
}

/* ------------------------------------------------------------------------ */
/* World construction                                                       */
/* ------------------------------------------------------------------------ */

/* Uniform index in [lo, n); callers guarantee n > lo. */
static uint32_t pick(struct gen *g, uint32_t lo, uint32_t n)
{
    return lo + rng_below(&g->rng, n - lo);
}

static uint8_t random_chan_type(struct gen *g)
{
    uint32_t r = rng_below(&g->rng, 100);
    if (r < 55)
        return CH_TEXT;
    if (r < 75)
        return CH_VOICE;
    if (r < 82)
        return CH_NEWS;
    if (r < 87)
        return CH_STAGE;
    return CH_FORUM;
}

/* A channel index of one of the types in mask at or after `from`: a few
 * random probes (cheap, unbiased enough), then a scan; -1 when none. */
static int64_t find_channel(struct gen *g, const struct guild *gd, uint32_t mask, uint32_t from)
{
    uint32_t n = gd->chans.n;
    if (n <= from)
        return -1;
    for (int i = 0; i < 8; i++) {
        uint32_t idx = pick(g, from, n);
        if (mask & TYPE_BIT(gd->chans.v[idx].type))
            return idx;
    }
    uint32_t start = pick(g, from, n);
    for (uint32_t k = 0; k < n - from; k++) {
        uint32_t idx = from + (start - from + k) % (n - from);
        if (mask & TYPE_BIT(gd->chans.v[idx].type))
            return idx;
    }
    return -1;
}

static struct member *add_member(struct gen *g, struct guild *gd, uint64_t id)
{
    struct member *m = VEC_PUSH(gd->members);
    m->id = id;
    m->ver = (uint32_t)rng_next(&g->rng);
    m->nick_ver = (uint32_t)rng_next(&g->rng);
    return m;
}

static struct channel *add_channel(struct guild *gd, uint64_t id, uint8_t type, uint64_t parent)
{
    struct channel *c = VEC_PUSH(gd->chans);
    c->id = id;
    c->type = type;
    c->parent = parent;
    c->pos = (uint16_t)gd->chans.n;
    c->ver = 0;
    return c;
}

static struct thread *add_thread(struct gen *g, struct guild *gd, uint64_t id)
{
    /* Threads hang off text, announcement or forum channels; general is the
     * always-present fallback. */
    int64_t ci = find_channel(g, gd, MASK_THREADABLE, 0);
    const struct channel *p = &gd->chans.v[ci < 0 ? 0 : ci];
    struct thread *t = VEC_PUSH(gd->threads);
    t->id = id;
    t->parent = p->id;
    t->parent_type = p->type;
    t->owner = gd->members.v[pick(g, 0, gd->members.n)].id;
    if (p->type == CH_NEWS)
        t->type = CH_NEWS_THREAD;
    else if (p->type == CH_TEXT && rng_pct(&g->rng, 20))
        t->type = CH_PRIVATE_THREAD;
    else
        t->type = CH_PUBLIC_THREAD;
    t->members = 1 + rng_below(&g->rng, 12);
    return t;
}

static bool in_voice(const struct guild *gd, uint64_t uid)
{
    for (uint32_t i = 0; i < gd->voice.n; i++)
        if (gd->voice.v[i].user == uid)
            return true;
    return false;
}

static void drop_voice_user(struct guild *gd, uint64_t uid)
{
    for (uint32_t i = 0; i < gd->voice.n; i++) {
        if (gd->voice.v[i].user == uid) {
            VEC_DEL(gd->voice, i);
            return;
        }
    }
}

/* A deleted channel takes its threads and voice occupants with it. */
static void drop_channel_dependents(struct guild *gd, uint64_t chan)
{
    for (uint32_t i = 0; i < gd->threads.n;) {
        if (gd->threads.v[i].parent == chan)
            VEC_DEL(gd->threads, i);
        else
            i++;
    }
    for (uint32_t i = 0; i < gd->voice.n;) {
        if (gd->voice.v[i].chan == chan)
            VEC_DEL(gd->voice, i);
        else
            i++;
    }
}

static void build_roles(struct gen *g, struct guild *gd)
{
    uint32_t n = g->opt.roles;
    struct role *everyone = VEC_PUSH(gd->roles);
    everyone->id = gd->id; /* @everyone shares the guild's id */
    for (uint32_t i = 1; i < n; i++) {
        struct role *r = VEC_PUSH(gd->roles);
        r->id = phase_id(g, 1);
        r->managed = i == 1;
        r->pos = (uint16_t)(i == 1 ? n - 1 : i - 1);
    }
}

static void build_channels(struct gen *g, struct guild *gd)
{
    uint32_t n = g->opt.channels;
    uint32_t ncat = n >= 4 ? (n / 8 ? n / 8 : 1) : 0;
    struct channel *general = add_channel(gd, phase_id(g, 1), CH_TEXT, 0);
    general->pos = 0;
    for (uint32_t i = 0; i < ncat; i++)
        add_channel(gd, phase_id(g, 1), CH_CATEGORY, 0)->pos = (uint16_t)i;
    if (ncat)
        gd->chans.v[0].parent = gd->chans.v[1].id;
    for (uint32_t i = 1 + ncat; i < n; i++) {
        uint8_t type = random_chan_type(g);
        uint64_t parent = 0;
        if (ncat && !rng_pct(&g->rng, 20))
            parent = gd->chans.v[1 + rng_below(&g->rng, ncat)].id;
        uint64_t id = phase_id(g, type == CH_FORUM ? 4 : 1);
        struct channel *c = add_channel(gd, id, type, parent);
        c->pos = (uint16_t)(i - ncat);
        if (type == CH_FORUM)
            c->tags = id + 1;
    }
}

static void build_activity(struct gen *g, struct guild *gd)
{
    for (uint32_t i = 0; i < gd->chans.n; i++) {
        struct channel *c = &gd->chans.v[i];
        if (c->type != CH_CATEGORY && rng_pct(&g->rng, 70))
            c->last_msg = phase_id(g, 1);
    }
    uint32_t nthreads = rng_below(&g->rng, 5);
    for (uint32_t i = 0; i < nthreads; i++) {
        struct thread *t = add_thread(g, gd, phase_id(g, 1));
        t->msgs = rng_below(&g->rng, 200);
        if (t->msgs)
            t->last_msg = phase_id(g, 1);
    }
    uint32_t nvoice = gd->members.n / 25;
    if (nvoice > 20)
        nvoice = 20;
    for (uint32_t i = 0; i < nvoice && gd->members.n > 1; i++) {
        int64_t ci = find_channel(g, gd, MASK_VOICE, 0);
        uint64_t uid = gd->members.v[pick(g, 1, gd->members.n)].id;
        if (ci < 0)
            break;
        if (in_voice(gd, uid))
            continue;
        struct voice *v = VEC_PUSH(gd->voice);
        v->user = uid;
        v->chan = gd->chans.v[ci].id;
        v->ver = (uint32_t)rng_next(&g->rng);
    }
}

/* Builds every guild before any output so creation times can be laid out
 * by kind: guilds oldest, then user accounts, then roles/channels/emojis,
 * then recent threads and messages. Ids therefore sort like real ones. */
static void build_world(struct gen *g)
{
    const struct opts *op = &g->opt;
    uint64_t ng = op->guilds;
    g->guilds = xrealloc(NULL, ng * sizeof(*g->guilds));
    memset(g->guilds, 0, ng * sizeof(*g->guilds));
    g->bot_id = snow_at(g, T_2015_11_01 + rng_below(&g->rng, 86400000), 1);

    phase_begin(g, T_2016_01_01, T_2019_01_01, ng);
    for (uint64_t i = 0; i < ng; i++)
        g->guilds[i].id = phase_id(g, 1);

    phase_begin(g, T_2019_01_01, T_2025_01_01, ng * (op->members - 1));
    for (uint64_t i = 0; i < ng; i++) {
        struct guild *gd = &g->guilds[i];
        add_member(g, gd, g->bot_id);
        for (uint32_t k = 1; k < op->members; k++)
            add_member(g, gd, phase_id(g, 1));
        gd->owner = gd->members.v[gd->members.n > 1 ? 1 : 0].id;
    }

    phase_begin(g, T_2025_01_01, T_2026_09_01, ng * (op->roles + op->channels + 18));
    for (uint64_t i = 0; i < ng; i++) {
        struct guild *gd = &g->guilds[i];
        build_roles(g, gd);
        build_channels(g, gd);
        uint32_t ne = rng_below(&g->rng, 16), ns = rng_below(&g->rng, 4);
        for (uint32_t k = 0; k < ne; k++)
            *VEC_PUSH(gd->emojis) = phase_id(g, 1);
        for (uint32_t k = 0; k < ns; k++)
            *VEC_PUSH(gd->stickers) = phase_id(g, 1);
    }

    phase_begin(g, T_2026_09_01, T_SNAPSHOT_END, ng * (op->channels + 8));
    for (uint64_t i = 0; i < ng; i++) {
        struct guild *gd = &g->guilds[i];
        uint64_t born = snow_ms(gd->id);
        gd->bot_joined_ms = born + rng_next(&g->rng) % (T_SNAPSHOT_END - born);
        build_activity(g, gd);
    }
}

static void free_world(struct gen *g)
{
    for (uint32_t i = 0; i < g->opt.guilds; i++) {
        struct guild *gd = &g->guilds[i];
        free(gd->members.v);
        free(gd->chans.v);
        free(gd->roles.v);
        free(gd->threads.v);
        free(gd->voice.v);
        free(gd->emojis.v);
        free(gd->stickers.v);
    }
    free(g->guilds);
}

/* ------------------------------------------------------------------------ */
/* Update events. Each returns false when the guild's state cannot support  */
/* it (nothing to delete, ...); the caller then emits a TYPING_START, which */
/* is always possible, so --updates is honoured exactly.                    */
/* ------------------------------------------------------------------------ */

static void put_guild_id_field(struct gen *g, const struct guild *gd)
{
    PUT(&g->o, "\"guild_id\":");
    put_id(&g->o, gd->id);
}

/* Any member but the bot, when there is one. */
static struct member *pick_member(struct gen *g, struct guild *gd)
{
    uint32_t n = gd->members.n;
    return &gd->members.v[n > 1 ? pick(g, 1, n) : 0];
}

static bool ev_member_add(struct gen *g, struct guild *gd)
{
    struct member *m = add_member(g, gd, snow_now(g, 1));
    frame_open(g, EV_MEMBER_ADD, gd->id);
    put_member_body(g, gd, m, M_USER | M_GUILD);
    frame_close(g);
    return true;
}

static bool ev_member_update(struct gen *g, struct guild *gd)
{
    struct member *m = pick_member(g, gd);
    bool omit_nick = rng_pct(&g->rng, 15);
    m->ver = (uint32_t)rng_next(&g->rng);
    if (!omit_nick && rng_pct(&g->rng, 40))
        m->nick_ver = (uint32_t)rng_next(&g->rng);
    frame_open(g, EV_MEMBER_UPDATE, gd->id);
    put_member_body(g, gd, m, M_USER | M_GUILD | (omit_nick ? M_NO_NICK : 0));
    frame_close(g);
    return true;
}

static bool ev_member_remove(struct gen *g, struct guild *gd)
{
    if (gd->members.n < 3) /* the bot and the owner stay */
        return false;
    uint32_t idx = pick(g, 2, gd->members.n);
    uint64_t uid = gd->members.v[idx].id;
    frame_open(g, EV_MEMBER_REMOVE, gd->id);
    put_guild_id_field(g, gd);
    PUT(&g->o, ",\"user\":");
    put_user(g, uid);
    frame_close(g);
    drop_voice_user(gd, uid);
    VEC_DEL(gd->members, idx);
    return true;
}

/* A small answer to a member query: a few consecutive existing members. */
static bool ev_members_chunk(struct gen *g, struct guild *gd)
{
    struct out *o = &g->o;
    uint32_t n = gd->members.n;
    uint32_t k = 1 + rng_below(&g->rng, 3);
    uint32_t start = pick(g, 0, n);
    if (k > n)
        k = n;
    frame_open(g, EV_MEMBERS_CHUNK, gd->id);
    put_guild_id_field(g, gd);
    PUT(o, ",\"members\":[");
    for (uint32_t j = 0; j < k; j++) {
        if (j)
            put_c(o, ',');
        put_member(g, gd, &gd->members.v[(start + j) % n], M_USER);
    }
    PUT(o, "],\"chunk_index\":0,\"chunk_count\":1,\"not_found\":[],\"nonce\":\"q");
    put_u64(o, ++g->nonce_ctr);
    put_c(o, '"');
    frame_close(g);
    return true;
}

static bool ev_channel_create(struct gen *g, struct guild *gd)
{
    uint8_t type = rng_pct(&g->rng, 5) ? (uint8_t)CH_CATEGORY : random_chan_type(g);
    uint64_t parent = 0;
    int64_t cat = find_channel(g, gd, TYPE_BIT(CH_CATEGORY), 0);
    if (type != CH_CATEGORY && cat >= 0 && rng_pct(&g->rng, 80))
        parent = gd->chans.v[cat].id;
    uint64_t id = snow_now(g, type == CH_FORUM ? 4 : 1);
    struct channel *c = add_channel(gd, id, type, parent);
    if (type == CH_FORUM)
        c->tags = id + 1;
    frame_open(g, EV_CHANNEL_CREATE, gd->id);
    put_channel_body(g, gd, c, true);
    frame_close(g);
    return true;
}

static bool ev_channel_update(struct gen *g, struct guild *gd)
{
    struct channel *c = &gd->chans.v[pick(g, 0, gd->chans.n)];
    c->ver++;
    if (rng_pct(&g->rng, 20))
        c->pos = (uint16_t)rng_below(&g->rng, gd->chans.n);
    frame_open(g, EV_CHANNEL_UPDATE, gd->id);
    put_channel_body(g, gd, c, true);
    frame_close(g);
    return true;
}

/* Categories and general are never deleted, so parents never dangle. */
static bool ev_channel_delete(struct gen *g, struct guild *gd)
{
    int64_t ci = find_channel(g, gd, ~TYPE_BIT(CH_CATEGORY), 1);
    if (ci < 0)
        return false;
    struct channel *c = &gd->chans.v[ci];
    frame_open(g, EV_CHANNEL_DELETE, gd->id);
    put_channel_body(g, gd, c, true);
    frame_close(g);
    drop_channel_dependents(gd, c->id);
    VEC_DEL(gd->chans, (uint32_t)ci);
    return true;
}

static bool ev_role_create(struct gen *g, struct guild *gd)
{
    struct role *r = VEC_PUSH(gd->roles);
    r->id = snow_now(g, 1);
    r->pos = (uint16_t)(gd->roles.n - 1);
    frame_open(g, EV_ROLE_CREATE, gd->id);
    put_guild_id_field(g, gd);
    PUT(&g->o, ",\"role\":");
    put_role(g, gd, r);
    frame_close(g);
    return true;
}

static bool ev_role_update(struct gen *g, struct guild *gd)
{
    if (gd->roles.n < 2)
        return false;
    struct role *r = &gd->roles.v[pick(g, 1, gd->roles.n)];
    r->ver = (uint32_t)rng_next(&g->rng);
    frame_open(g, EV_ROLE_UPDATE, gd->id);
    put_guild_id_field(g, gd);
    PUT(&g->o, ",\"role\":");
    put_role(g, gd, r);
    frame_close(g);
    return true;
}

/* Never @everyone (index 0) nor the bot's managed role (index 1). */
static bool ev_role_delete(struct gen *g, struct guild *gd)
{
    if (gd->roles.n < 3)
        return false;
    uint32_t idx = pick(g, 2, gd->roles.n);
    frame_open(g, EV_ROLE_DELETE, gd->id);
    put_guild_id_field(g, gd);
    PUT(&g->o, ",\"role_id\":");
    put_id(&g->o, gd->roles.v[idx].id);
    frame_close(g);
    VEC_DEL(gd->roles, idx);
    return true;
}

static bool ev_thread_create(struct gen *g, struct guild *gd)
{
    if (gd->threads.n >= MAX_THREADS)
        return false;
    struct thread *t = add_thread(g, gd, snow_now(g, 1));
    frame_open(g, EV_THREAD_CREATE, gd->id);
    put_thread_body(g, gd, t);
    PUT(&g->o, ",\"newly_created\":true");
    frame_close(g);
    return true;
}

static bool ev_thread_update(struct gen *g, struct guild *gd)
{
    if (!gd->threads.n)
        return false;
    struct thread *t = &gd->threads.v[pick(g, 0, gd->threads.n)];
    t->ver++;
    frame_open(g, EV_THREAD_UPDATE, gd->id);
    put_thread_body(g, gd, t);
    frame_close(g);
    return true;
}

static bool ev_thread_delete(struct gen *g, struct guild *gd)
{
    if (!gd->threads.n)
        return false;
    uint32_t idx = pick(g, 0, gd->threads.n);
    const struct thread *t = &gd->threads.v[idx];
    frame_open(g, EV_THREAD_DELETE, gd->id);
    PUT(&g->o, "\"id\":");
    put_id(&g->o, t->id);
    PUT(&g->o, ",\"type\":");
    put_u64(&g->o, t->type);
    PUT(&g->o, ",\"guild_id\":");
    put_id(&g->o, gd->id);
    PUT(&g->o, ",\"parent_id\":");
    put_id(&g->o, t->parent);
    frame_close(g);
    VEC_DEL(gd->threads, idx);
    return true;
}

static bool ev_thread_list_sync(struct gen *g, struct guild *gd)
{
    struct out *o = &g->o;
    if (!gd->threads.n)
        return false;
    uint32_t n = gd->threads.n < 10 ? gd->threads.n : 10;
    frame_open(g, EV_THREAD_LIST_SYNC, gd->id);
    put_guild_id_field(g, gd);
    PUT(o, ",\"threads\":[");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            put_c(o, ',');
        put_thread(g, gd, &gd->threads.v[i]);
    }
    PUT(o, "],\"members\":[");
    for (uint32_t i = 0; i < n; i += 2) {
        if (i)
            put_c(o, ',');
        PUT(o, "{\"id\":");
        put_id(o, gd->threads.v[i].id);
        PUT(o, ",\"user_id\":");
        put_id(o, g->bot_id);
        PUT(o, ",\"join_timestamp\":");
        put_ts_ms(o, snow_ms(gd->threads.v[i].id));
        PUT(o, ",\"flags\":1}");
    }
    put_c(o, ']');
    frame_close(g);
    return true;
}

static bool ev_thread_members_update(struct gen *g, struct guild *gd)
{
    struct out *o = &g->o;
    if (!gd->threads.n)
        return false;
    struct thread *t = &gd->threads.v[pick(g, 0, gd->threads.n)];
    bool remove = t->members > 1 && rng_pct(&g->rng, 40);
    uint32_t add = remove ? 0 : 1 + rng_below(&g->rng, 2);
    t->members = remove ? t->members - 1 : t->members + add;
    frame_open(g, EV_THREAD_MEMBERS_UPDATE, gd->id);
    PUT(o, "\"id\":");
    put_id(o, t->id);
    PUT(o, ",\"guild_id\":");
    put_id(o, gd->id);
    PUT(o, ",\"member_count\":");
    put_u64(o, t->members);
    if (remove) {
        PUT(o, ",\"removed_member_ids\":[");
        put_id(o, pick_member(g, gd)->id);
        put_c(o, ']');
    } else {
        PUT(o, ",\"added_members\":[");
        for (uint32_t i = 0; i < add; i++) {
            const struct member *m = pick_member(g, gd);
            if (i)
                put_c(o, ',');
            PUT(o, "{\"id\":");
            put_id(o, t->id);
            PUT(o, ",\"user_id\":");
            put_id(o, m->id);
            PUT(o, ",\"join_timestamp\":");
            put_ts_ms(o, now_ms(g));
            PUT(o, ",\"flags\":0,\"member\":");
            put_member(g, gd, m, M_USER);
            PUT(o, ",\"presence\":null}");
        }
        put_c(o, ']');
    }
    frame_close(g);
    return true;
}

/* Emoji and sticker updates carry the whole list after one add or removal. */
static bool ev_emojis_update(struct gen *g, struct guild *gd)
{
    uint32_t n = gd->emojis.n;
    if (n && (n >= MAX_EMOJIS || rng_pct(&g->rng, 40)))
        VEC_DEL(gd->emojis, pick(g, 0, n));
    else
        *VEC_PUSH(gd->emojis) = snow_now(g, 1);
    frame_open(g, EV_EMOJIS_UPDATE, gd->id);
    put_guild_id_field(g, gd);
    PUT(&g->o, ",\"emojis\":");
    put_emojis(g, gd);
    frame_close(g);
    return true;
}

static bool ev_stickers_update(struct gen *g, struct guild *gd)
{
    uint32_t n = gd->stickers.n;
    if (n && (n >= MAX_STICKERS || rng_pct(&g->rng, 40)))
        VEC_DEL(gd->stickers, pick(g, 0, n));
    else
        *VEC_PUSH(gd->stickers) = snow_now(g, 1);
    frame_open(g, EV_STICKERS_UPDATE, gd->id);
    put_guild_id_field(g, gd);
    PUT(&g->o, ",\"stickers\":");
    put_stickers(g, gd);
    frame_close(g);
    return true;
}

static const struct member *find_member(const struct guild *gd, uint64_t uid)
{
    for (uint32_t i = 0; i < gd->members.n; i++)
        if (gd->members.v[i].id == uid)
            return &gd->members.v[i];
    return NULL;
}

static void emit_voice(struct gen *g, struct guild *gd, const struct voice *v, uint64_t chan)
{
    const struct member *m = find_member(gd, v->user);
    frame_open(g, EV_VOICE_STATE_UPDATE, gd->id);
    if (m) {
        PUT(&g->o, "\"member\":");
        put_member(g, gd, m, M_USER);
        put_c(&g->o, ',');
    }
    put_voice_body(g, v, chan);
    PUT(&g->o, ",\"guild_id\":");
    put_id(&g->o, gd->id);
    frame_close(g);
}

/* Joins, leaves (channel_id null) and moves/mute toggles. */
static bool ev_voice(struct gen *g, struct guild *gd)
{
    uint32_t cap = gd->members.n / 2 < MAX_VOICE ? gd->members.n / 2 : MAX_VOICE;
    uint32_t r = rng_below(&g->rng, 100);
    if (gd->voice.n && (r < 45 || gd->voice.n >= cap)) {
        uint32_t idx = pick(g, 0, gd->voice.n);
        struct voice v = gd->voice.v[idx];
        VEC_DEL(gd->voice, idx);
        emit_voice(g, gd, &v, 0);
        return true;
    }
    int64_t ci = find_channel(g, gd, MASK_VOICE, 0);
    if (ci < 0)
        return false;
    if (r < 90) {
        uint64_t uid = pick_member(g, gd)->id;
        if (in_voice(gd, uid))
            return false;
        struct voice *v = VEC_PUSH(gd->voice);
        v->user = uid;
        v->chan = gd->chans.v[ci].id;
        v->ver = (uint32_t)rng_next(&g->rng);
        emit_voice(g, gd, v, v->chan);
        return true;
    }
    if (!gd->voice.n)
        return false;
    struct voice *v = &gd->voice.v[pick(g, 0, gd->voice.n)];
    v->chan = gd->chans.v[ci].id;
    v->ver = (uint32_t)rng_next(&g->rng);
    emit_voice(g, gd, v, v->chan);
    return true;
}

static bool ev_presence(struct gen *g, struct guild *gd)
{
    const struct member *m = pick_member(g, gd);
    uint64_t var = rng_next(&g->rng);
    frame_open(g, EV_PRESENCE_UPDATE, gd->id);
    put_presence_body(g, gd, m->id, var, true);
    frame_close(g);
    return true;
}

/* Message text: a few words, sometimes a mention or a second line. */
static void put_content(struct gen *g, uint64_t mention)
{
    struct out *o = &g->o;
    uint64_t h = rng_next(&g->rng);
    unsigned nwords = 1 + (unsigned)(h % 20);
    put_c(o, '"');
    if (mention) {
        PUT(o, "<@");
        put_u64(o, mention);
        PUT(o, "> ");
    }
    put_sentence(o, h >> 8, nwords);
    if ((h >> 40) % 10 == 0) {
        PUT(o, "\\n");
        put_sentence(o, h >> 16, 1 + (unsigned)((h >> 44) % 8));
    }
    put_c(o, '"');
}

static void put_attachment(struct gen *g, uint64_t chan)
{
    struct out *o = &g->o;
    uint64_t id = snow_now(g, 1);
    uint64_t h = hsh(g, id, S_MEMBER);
    PUT(o, "{\"id\":");
    put_id(o, id);
    PUT(o, ",\"filename\":\"image.png\",\"size\":");
    put_u64(o, 20000 + h % 2000000);
    PUT(o, ",\"url\":\"https://cdn.discordapp.com/attachments/");
    put_u64(o, chan);
    put_c(o, '/');
    put_u64(o, id);
    PUT(o, "/image.png?ex=");
    put_hex(o, h, 8);
    PUT(o, "\",\"proxy_url\":\"https://media.discordapp.net/attachments/");
    put_u64(o, chan);
    put_c(o, '/');
    put_u64(o, id);
    PUT(o, "/image.png\",\"width\":");
    put_u64(o, 320 + (h >> 24) % 1600);
    PUT(o, ",\"height\":");
    put_u64(o, 240 + (h >> 36) % 1200);
    PUT(o, ",\"content_type\":\"image/png\",\"placeholder\":\"");
    put_hex(o, mix64(h), 16);
    PUT(o, "\",\"placeholder_version\":1}");
}

/* Where a message goes: a thread now and then, else a channel with chat. */
static void pick_message_target(struct gen *g, struct guild *gd, uint64_t **last_msg,
                                uint64_t *chan, uint8_t *type)
{
    if (gd->threads.n && rng_pct(&g->rng, 15)) {
        struct thread *t = &gd->threads.v[pick(g, 0, gd->threads.n)];
        t->msgs++;
        *last_msg = &t->last_msg;
        *chan = t->id;
        *type = t->type;
        return;
    }
    int64_t ci = find_channel(g, gd, MASK_TALK, 0);
    struct channel *c = &gd->chans.v[ci < 0 ? 0 : ci];
    *last_msg = &c->last_msg;
    *chan = c->id;
    *type = c->type;
}

static bool ev_message_create(struct gen *g, struct guild *gd)
{
    struct out *o = &g->o;
    const struct member *author = rng_pct(&g->rng, 3) ? &gd->members.v[0] : pick_member(g, gd);
    const struct member *mentioned = rng_pct(&g->rng, 10) ? pick_member(g, gd) : NULL;
    uint64_t *last_msg, chan;
    uint8_t type;
    pick_message_target(g, gd, &last_msg, &chan, &type);
    uint64_t id = snow_now(g, 1);
    *last_msg = id;
    frame_open(g, EV_MESSAGE_CREATE, gd->id);
    PUT(o, "\"type\":0,\"tts\":false,\"timestamp\":");
    put_ts_ms(o, snow_ms(id));
    PUT(o, ",\"pinned\":false,\"mentions\":[");
    if (mentioned) {
        put_c(o, '{');
        put_user_fields(g, mentioned->id);
        PUT(o, ",\"member\":");
        put_member(g, gd, mentioned, 0);
        put_c(o, '}');
    }
    PUT(o, "],\"mention_roles\":[],\"mention_everyone\":false,\"member\":");
    put_member(g, gd, author, 0);
    PUT(o, ",\"id\":");
    put_id(o, id);
    PUT(o, ",\"flags\":0,\"embeds\":[],\"edited_timestamp\":null,\"content\":");
    put_content(g, mentioned ? mentioned->id : 0);
    PUT(o, ",\"components\":[],\"channel_type\":");
    put_u64(o, type);
    PUT(o, ",\"channel_id\":");
    put_id(o, chan);
    PUT(o, ",\"author\":");
    put_user(g, author->id);
    PUT(o, ",\"attachments\":[");
    if (rng_pct(&g->rng, 8))
        put_attachment(g, chan);
    PUT(o, "],\"guild_id\":");
    put_id(o, gd->id);
    frame_close(g);
    return true;
}

/* The universal fallback: a guild always has members and #general. */
static bool ev_typing(struct gen *g, struct guild *gd)
{
    struct out *o = &g->o;
    const struct member *m = pick_member(g, gd);
    int64_t ci = find_channel(g, gd, MASK_TALK, 0);
    frame_open(g, EV_TYPING_START, gd->id);
    PUT(o, "\"user_id\":");
    put_id(o, m->id);
    PUT(o, ",\"timestamp\":");
    put_u64(o, now_ms(g) / 1000);
    PUT(o, ",\"member\":");
    put_member(g, gd, m, M_USER);
    PUT(o, ",\"channel_id\":");
    put_id(o, gd->chans.v[ci < 0 ? 0 : ci].id);
    PUT(o, ",\"guild_id\":");
    put_id(o, gd->id);
    frame_close(g);
    return true;
}

static bool ev_guild_update(struct gen *g, struct guild *gd)
{
    gd->ver++;
    frame_open(g, EV_GUILD_UPDATE, gd->id);
    put_guild_fields(g, gd);
    frame_close(g);
    return true;
}

static bool ev_user_update(struct gen *g)
{
    g->bot_ver++;
    frame_open(g, EV_USER_UPDATE, 0);
    put_bot_user_fields(g, true);
    frame_close(g);
    return true;
}

/* Events a consumer has never heard of; it must skip them gracefully. */
static bool ev_unknown(struct gen *g, struct guild *gd, enum ev e)
{
    struct out *o = &g->o;
    uint64_t h = rng_next(&g->rng);
    frame_open(g, e, e == EV_UNKNOWN_C ? 0 : gd->id);
    if (e != EV_UNKNOWN_C) {
        put_guild_id_field(g, gd);
        put_c(o, ',');
    }
    PUT(o, "\"kind\":\"experiment\",\"value\":");
    put_u64(o, h % 100000);
    PUT(o, ",\"note\":");
    put_qsentence(o, h >> 20, 2 + (unsigned)((h >> 50) % 6));
    PUT(o, ",\"nested\":{\"a\":[1,2,3],\"b\":null,\"c\":true,\"d\":{\"e\":-1.5e3}}");
    frame_close(g);
    return true;
}

/* An outage: the guild goes unavailable and comes back with a fresh
 * GUILD_CREATE a while later (scheduled inside the update budget). */
static bool ev_guild_delete(struct gen *g, struct guild *gd, uint64_t i)
{
    uint64_t remaining = g->opt.updates - i - 1;
    if (g->outage || g->opt.guilds < 2 || remaining < 50)
        return false;
    uint64_t span = remaining - 1 < 500 ? remaining - 1 : 500;
    gd->unavailable = true;
    g->outage = (uint32_t)(gd - g->guilds) + 1;
    g->outage_end = i + 10 + rng_next(&g->rng) % (span - 9);
    frame_open(g, EV_GUILD_DELETE, gd->id);
    PUT(&g->o, "\"id\":");
    put_id(&g->o, gd->id);
    PUT(&g->o, ",\"unavailable\":true");
    frame_close(g);
    return true;
}

static bool run_event(struct gen *g, enum ev e, struct guild *gd, uint64_t i)
{
    switch (e) {
    case EV_MEMBER_ADD:
        return ev_member_add(g, gd);
    case EV_MEMBER_UPDATE:
        return ev_member_update(g, gd);
    case EV_MEMBER_REMOVE:
        return ev_member_remove(g, gd);
    case EV_MEMBERS_CHUNK:
        return ev_members_chunk(g, gd);
    case EV_CHANNEL_CREATE:
        return ev_channel_create(g, gd);
    case EV_CHANNEL_UPDATE:
        return ev_channel_update(g, gd);
    case EV_CHANNEL_DELETE:
        return ev_channel_delete(g, gd);
    case EV_ROLE_CREATE:
        return ev_role_create(g, gd);
    case EV_ROLE_UPDATE:
        return ev_role_update(g, gd);
    case EV_ROLE_DELETE:
        return ev_role_delete(g, gd);
    case EV_THREAD_CREATE:
        return ev_thread_create(g, gd);
    case EV_THREAD_UPDATE:
        return ev_thread_update(g, gd);
    case EV_THREAD_DELETE:
        return ev_thread_delete(g, gd);
    case EV_THREAD_LIST_SYNC:
        return ev_thread_list_sync(g, gd);
    case EV_THREAD_MEMBERS_UPDATE:
        return ev_thread_members_update(g, gd);
    case EV_EMOJIS_UPDATE:
        return ev_emojis_update(g, gd);
    case EV_STICKERS_UPDATE:
        return ev_stickers_update(g, gd);
    case EV_VOICE_STATE_UPDATE:
        return ev_voice(g, gd);
    case EV_PRESENCE_UPDATE:
        return ev_presence(g, gd);
    case EV_MESSAGE_CREATE:
        return ev_message_create(g, gd);
    case EV_TYPING_START:
        return ev_typing(g, gd);
    case EV_GUILD_UPDATE:
        return ev_guild_update(g, gd);
    case EV_USER_UPDATE:
        return ev_user_update(g);
    case EV_UNKNOWN_A:
    case EV_UNKNOWN_B:
    case EV_UNKNOWN_C:
        return ev_unknown(g, gd, e);
    case EV_GUILD_DELETE:
        return ev_guild_delete(g, gd, i);
    default:
        return false;
    }
}

static enum ev pick_event(struct gen *g, uint32_t total)
{
    uint32_t r = rng_below(&g->rng, total);
    for (int e = 0; e < EV_COUNT; e++) {
        if (r < EV_WEIGHT[e])
            return (enum ev)e;
        r -= EV_WEIGHT[e];
    }
    return EV_TYPING_START;
}

/* Uniform over available guilds; at most one guild is ever unavailable. */
static struct guild *pick_guild(struct gen *g)
{
    uint32_t idx = rng_below(&g->rng, g->opt.guilds);
    if (g->guilds[idx].unavailable)
        idx = (idx + 1) % g->opt.guilds;
    return &g->guilds[idx];
}

static void run_updates(struct gen *g)
{
    uint32_t total = 0;
    for (int e = 0; e < EV_COUNT; e++)
        total += EV_WEIGHT[e];
    for (uint64_t i = 0; i < g->opt.updates; i++) {
        if (g->outage && i == g->outage_end) {
            emit_guild_create(g, &g->guilds[g->outage - 1]);
            g->outage = 0;
            continue;
        }
        enum ev e = pick_event(g, total);
        struct guild *gd = pick_guild(g);
        if (!run_event(g, e, gd, i))
            ev_typing(g, gd);
    }
}

/* ------------------------------------------------------------------------ */
/* Command line                                                             */
/* ------------------------------------------------------------------------ */

static const char USAGE[] =
    "usage: gatestore-gen [options]\n"
    "\n"
    "Deterministic synthetic Discord gateway (v10) traffic as NDJSON.\n"
    "\n"
    "  --guilds N        guilds (default 10)\n"
    "  --channels N      channels per guild, incl. #general (default 20)\n"
    "  --roles N         roles per guild, incl. @everyone (default 10)\n"
    "  --members N       members per guild, incl. the bot (default 50)\n"
    "  --updates N       update events after the snapshot (default 1000)\n"
    "  --seed S          PRNG seed (default 1)\n"
    "  --chunked         GUILD_CREATE holds only the bot; members follow as\n"
    "                    GUILD_MEMBERS_CHUNK frames\n"
    "  --envelope        wrap frames as {\"frame\":...,\"received_at\":...,\"shard\":K}\n"
    "  --shards N        shard count for the envelope (default 1)\n"
    "  --nondispatch     emit HELLO, heartbeat and ACK frames (default)\n"
    "  --no-nondispatch  dispatch frames only\n"
    "  --stats           per-event frame and byte counts on stderr\n"
    "  -o FILE           write to FILE instead of stdout\n"
    "  --help            this text\n"
    "\n"
    "Identical arguments produce identical bytes.\n";

static void usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "gatestore-gen: %s '%s'\n", msg, arg);
    fprintf(stderr, "try 'gatestore-gen --help'\n");
    exit(2);
}

static uint64_t parse_num(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    uint64_t v = 0;
    if (!s || !*s)
        usage_error("missing value for", opt);
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            usage_error("not a non-negative integer:", s);
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            usage_error("number too large:", s);
        v = v * 10 + d;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "gatestore-gen: %s must be between %llu and %llu\n", opt,
                (unsigned long long)lo, (unsigned long long)hi);
        exit(2);
    }
    return v;
}

struct numopt {
    const char *name;
    uint64_t lo, hi;
};

static const struct numopt NUMOPTS[] = {
    {"--guilds", 1, 1000000},   {"--channels", 1, 10000},         {"--roles", 1, 10000},
    {"--members", 1, 10000000}, {"--updates", 0, UINT64_MAX / 2}, {"--seed", 0, UINT64_MAX},
    {"--shards", 1, 65535},
};

static void set_num(struct opts *op, int which, uint64_t v)
{
    switch (which) {
    case 0:
        op->guilds = (uint32_t)v;
        break;
    case 1:
        op->channels = (uint32_t)v;
        break;
    case 2:
        op->roles = (uint32_t)v;
        break;
    case 3:
        op->members = (uint32_t)v;
        break;
    case 4:
        op->updates = v;
        break;
    case 5:
        op->seed = v;
        break;
    default:
        op->shards = (uint32_t)v;
        break;
    }
}

/* Accepts "--name VALUE" and "--name=VALUE"; returns false if not numeric. */
static bool parse_numopt(struct opts *op, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    for (int k = 0; k < (int)(sizeof(NUMOPTS) / sizeof(NUMOPTS[0])); k++) {
        size_t len = strlen(NUMOPTS[k].name);
        if (strncmp(a, NUMOPTS[k].name, len) != 0)
            continue;
        const char *val;
        if (a[len] == '=')
            val = a + len + 1;
        else if (a[len] == '\0')
            val = *i + 1 < argc ? argv[++*i] : NULL;
        else
            continue;
        set_num(op, k, parse_num(NUMOPTS[k].name, val, NUMOPTS[k].lo, NUMOPTS[k].hi));
        return true;
    }
    return false;
}

static void parse_args(struct opts *op, int argc, char **argv)
{
    *op = (struct opts){.guilds = 10,
                        .channels = 20,
                        .roles = 10,
                        .members = 50,
                        .updates = 1000,
                        .seed = 1,
                        .shards = 1,
                        .nondispatch = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            exit(fflush(stdout) == 0 ? 0 : 1);
        } else if (strcmp(a, "--chunked") == 0) {
            op->chunked = true;
        } else if (strcmp(a, "--envelope") == 0) {
            op->envelope = true;
        } else if (strcmp(a, "--nondispatch") == 0) {
            op->nondispatch = true;
        } else if (strcmp(a, "--no-nondispatch") == 0) {
            op->nondispatch = false;
        } else if (strcmp(a, "--stats") == 0) {
            op->stats = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0])
                usage_error("missing file name for", a);
            op->path = argv[++i];
        } else if (!parse_numopt(op, argc, argv, &i)) {
            usage_error("unknown option", a);
        }
    }
}

/* Memory is O(entities); refuse shapes that could not fit instead of
 * dying halfway through the output. */
#define MAX_ENTITIES 100000000ULL

static void check_limits(const struct opts *op)
{
    uint64_t per_guild = (uint64_t)op->members + op->channels + op->roles;
    if ((uint64_t)op->guilds * per_guild > MAX_ENTITIES) {
        fprintf(stderr,
                "gatestore-gen: --guilds x (--members + --channels + --roles) must not "
                "exceed %llu\n",
                (unsigned long long)MAX_ENTITIES);
        exit(2);
    }
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

static void print_stats(const struct gen *g)
{
    uint64_t frames = 0, bytes = 0;
    for (int e = 0; e < EV_COUNT; e++) {
        const struct evstat *s = &g->stats[e];
        if (!s->frames)
            continue;
        fprintf(stderr, "%-28s %10llu frames %14llu bytes\n", EV_NAME[e],
                (unsigned long long)s->frames, (unsigned long long)s->bytes);
        frames += s->frames;
        bytes += s->bytes;
    }
    fprintf(stderr, "%-28s %10llu frames %14llu bytes\n", "total", (unsigned long long)frames,
            (unsigned long long)bytes);
}

static int open_output(const char *path)
{
    if (!path)
        return STDOUT_FILENO;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die(1, path, strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    static struct gen gen;
    struct gen *g = &gen;
    parse_args(&g->opt, argc, argv);
    check_limits(&g->opt);
    /* A closed pipe must surface as EPIPE from write(), not kill us silently. */
    signal(SIGPIPE, SIG_IGN);
    init_digits();
    init_pools();
    rng_seed(&g->rng, g->opt.seed);
    g->salt = mix64(g->opt.seed ^ 0x6761746573746f72ULL);
    g->now_us = T_START_US;
    g->ack_gap = 1000;
    g->o.buf = xrealloc(NULL, OUT_CAP);
    g->o.fd = open_output(g->opt.path);

    build_world(g);
    if (g->opt.nondispatch)
        nd_frame(g, EV_HELLO, 0);
    emit_ready(g);
    for (uint32_t i = 0; i < g->opt.guilds; i++)
        emit_guild_create(g, &g->guilds[i]);
    run_updates(g);
    out_flush(&g->o);
    if (g->opt.path && close(g->o.fd) != 0)
        die(1, "close failed", strerror(errno));

    if (g->opt.stats)
        print_stats(g);
    free_world(g);
    free(g->o.buf);
    free_pools();
    return 0;
}
