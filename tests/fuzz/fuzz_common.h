/*
 * Shared by the libFuzzer targets: a check that stops the fuzzer with a
 * message, a reader for the fuzzer's input, and a platform whose every op
 * (doorbell, wait, clock, cache maintenance) may hand control to a hostile
 * peer: the points where a real peer could have run in between.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "amp/platform.h"

/* A broken promise of the code under test: report it as a crash. */
#define FZ_CHECK(cond)                                                                    \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input, consumed front to back; reads past the end give zeros. */
struct fz_input {
    const uint8_t *p;
    size_t left;
};

static inline bool fz_more(const struct fz_input *in)
{
    return in->left > 0;
}

static inline uint8_t fz_u8(struct fz_input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static inline uint16_t fz_u16(struct fz_input *in)
{
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

static inline uint32_t fz_u32(struct fz_input *in)
{
    uint32_t lo = fz_u16(in);
    return lo | (uint32_t)fz_u16(in) << 16;
}

/* A platform whose ops call `hook` (if set): the peer's chance to act. */
struct fz_platform {
    struct amp_platform platform;
    uint32_t clock_ms;
    unsigned notifies;
    void (*hook)(void *arg);
    void *hook_arg;
};

static inline void fz_hook(struct fz_platform *fp)
{
    if (fp->hook)
        fp->hook(fp->hook_arg);
}

static void fz_notify(void *ctx, uint32_t queue_id)
{
    (void)queue_id;
    struct fz_platform *fp = ctx;
    fp->notifies++;
    fz_hook(fp);
}

/* Time moves only when someone waits: every timeout ends, at once. */
static int fz_wait(void *ctx, int32_t timeout_ms)
{
    struct fz_platform *fp = ctx;
    fz_hook(fp);
    fp->clock_ms += timeout_ms < 0 ? 1000u : (uint32_t)timeout_ms + 1u;
    return -AMP_ETIMEDOUT;
}

static uint32_t fz_time(void *ctx)
{
    return ((struct fz_platform *)ctx)->clock_ms;
}

static void fz_cache_flush(void *ctx, const void *addr, size_t len)
{
    (void)addr;
    (void)len;
    fz_hook(ctx);
}

static void fz_cache_invalidate(void *ctx, void *addr, size_t len)
{
    (void)addr;
    (void)len;
    fz_hook(ctx);
}

static const struct amp_platform_ops fz_platform_ops = {
    .notify = fz_notify,
    .wait = fz_wait,
    .time_ms = fz_time,
    .cache_flush = fz_cache_flush,
    .cache_invalidate = fz_cache_invalidate,
};

static inline void fz_platform_init(struct fz_platform *fp, void (*hook)(void *))
{
    *fp = (struct fz_platform){ .platform = { &fz_platform_ops, fp }, .hook = hook };
    fp->hook_arg = fp;
}

#endif /* FUZZ_COMMON_H */
