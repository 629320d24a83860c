/* crash_input.h - what the crash and power-cut harnesses share: an input
 * file split into lines, and a seeded PRNG (so a failing seed replays). */
#ifndef GS_CRASH_INPUT_H
#define GS_CRASH_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
    char *buf;
    size_t len;
    const char **line;
    size_t *line_len;
    size_t n;
};

/* Read path whole and split it into its non-empty lines. 0 ok, -1 if it
 * cannot be read or has no line. Free with input_free. */
int load_input(const char *path, struct input *in);
void input_free(struct input *in);

/* splitmix64: the next value of the sequence seeded by *s. */
uint64_t rng_next(uint64_t *s);

#endif
