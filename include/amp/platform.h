/*
 * amp/platform.h - the bottom layer: error codes, little-endian access,
 * memory barriers, and the platform ops table through which the core
 * reaches the outside world (doorbells, waiting, time, caches).
 *
 * The core never includes an OS header. A platform (Linux host, simulated
 * board firmware, a real MCU) fills in a struct amp_platform and passes it
 * down; everything above this layer calls only these ops.
 */
#ifndef AMP_PLATFORM_H
#define AMP_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Errors: always returned negated; amp_strerror() names them. ---- */
enum {
    AMP_OK = 0,
    AMP_EINVAL = 1,      /* bad argument from the caller */
    AMP_ENOBUFS = 2,     /* no free buffer right now (timeout 0) */
    AMP_ETIMEDOUT = 3,   /* waited as long as asked, still nothing */
    AMP_EMSGSIZE = 4,    /* payload larger than a buffer can hold */
    AMP_ENOTCONN = 5,    /* endpoint has no destination yet */
    AMP_EADDRINUSE = 6,  /* endpoint address already taken */
    AMP_EADDRNOTAVAIL = 7, /* no free dynamic address left */
    AMP_ENOENT = 8,      /* no such endpoint / entry / section */
    AMP_EBADMSG = 9,     /* malformed data from the peer or a file */
    AMP_ERANGE = 10,     /* index, length or address out of bounds */
    AMP_EAGAIN = 11,     /* nothing to do now, try again later */
    AMP_ENODEV = 12,     /* the peer is gone (crashed, stopped, reset) */
    AMP_EBUSY = 13,      /* resource in use / wrong state for this call */
    AMP_ENOEXEC = 14,    /* not a loadable executable for this board */
    AMP_EIO = 15,        /* I/O error from the platform */
    AMP_ENOSPC = 16,     /* caller-provided storage too small */
    AMP_ENOTSUP = 17,    /* feature not supported by the peer/platform */
    AMP_ERRNO_MAX
};

/* Human-readable text for a (negative or positive) amp error code. */
const char *amp_strerror(int err);

/* ---- Explicit little-endian access for wire structs. ---- */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline uint16_t amp_le16(uint16_t v) { return v; }
static inline uint32_t amp_le32(uint32_t v) { return v; }
static inline uint64_t amp_le64(uint64_t v) { return v; }
#else
static inline uint16_t amp_le16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t amp_le32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t amp_le64(uint64_t v) { return __builtin_bswap64(v); }
#endif
/* The same swap converts both ways; these names say which way we mean. */
#define amp_cpu_to_le16 amp_le16
#define amp_cpu_to_le32 amp_le32
#define amp_cpu_to_le64 amp_le64

/*
 * ---- Barriers between two cores sharing memory. ----
 * On x86-64 acquire/release are compiler barriers and the full barrier is
 * an mfence; on Cortex-M they become DMB. Shared memory must be mapped
 * non-cacheable or kept coherent through the cache ops below.
 */
#define amp_mb()      __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define amp_rmb()     __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define amp_wmb()     __atomic_thread_fence(__ATOMIC_RELEASE)
/*
 * Exactly one access to a field the peer may change at any moment, so the
 * compiler can neither re-read it after we checked it nor tear or merge it.
 */
#define AMP_READ_ONCE(x)      (*(const volatile __typeof__(x) *)&(x))
#define AMP_WRITE_ONCE(x, v)  (*(volatile __typeof__(x) *)&(x) = (v))

/* Timeout values, in milliseconds. */
#define AMP_WAIT_FOREVER (-1)
#define AMP_NO_WAIT      0

/*
 * The ops a platform provides. Only notify, wait and time_ms are required;
 * NULL cache ops mean coherent memory.
 */
struct amp_platform_ops {
    /* Ring the peer's doorbell for queue `queue_id` (the vring notifyid). */
    void (*notify)(void *ctx, uint32_t queue_id);
    /*
     * Sleep until the peer rings our doorbell or `timeout_ms` passes
     * (AMP_WAIT_FOREVER: no limit; 0: just check). Returns 0 when woken
     * (spurious wake-ups are allowed: callers re-check the rings),
     * -AMP_ETIMEDOUT on timeout, or -AMP_ENODEV when the peer is gone.
     */
    int (*wait)(void *ctx, int32_t timeout_ms);
    /* A monotonic millisecond clock; it may wrap. */
    uint32_t (*time_ms)(void *ctx);
    /* Write back / discard cached lines over [addr, addr+len). */
    void (*cache_flush)(void *ctx, const void *addr, size_t len);
    void (*cache_invalidate)(void *ctx, void *addr, size_t len);
    /*
     * Device address -> local pointer for `len` bytes, or NULL if any part
     * lies outside memory this side can reach. Used by loaders; the rpmsg
     * data path translates linearly inside its own bounds-checked region.
     */
    void *(*da_to_va)(void *ctx, uint64_t da, size_t len);
};

struct amp_platform {
    const struct amp_platform_ops *ops;
    void *ctx;
};

static inline void amp_cache_flush(const struct amp_platform *p, const void *a, size_t n)
{
    if (p->ops->cache_flush)
        p->ops->cache_flush(p->ctx, a, n);
}

static inline void amp_cache_invalidate(const struct amp_platform *p, void *a, size_t n)
{
    if (p->ops->cache_invalidate)
        p->ops->cache_invalidate(p->ctx, a, n);
}

/*
 * Deadline helper for "0 tries once, -1 forever, N waits N ms" loops.
 * Returns the ms left to wait (>= 0, or AMP_WAIT_FOREVER), or -1 - never;
 * callers check amp_deadline_expired() first.
 */
struct amp_deadline {
    int32_t timeout_ms;
    uint32_t start_ms;
};

static inline void amp_deadline_start(struct amp_deadline *d, const struct amp_platform *p,
                                      int32_t timeout_ms)
{
    d->timeout_ms = timeout_ms;
    d->start_ms = timeout_ms > 0 ? p->ops->time_ms(p->ctx) : 0;
}

/* Milliseconds still to wait: AMP_WAIT_FOREVER, or 0 when expired. */
static inline int32_t amp_deadline_left(const struct amp_deadline *d, const struct amp_platform *p)
{
    if (d->timeout_ms <= 0)
        return d->timeout_ms < 0 ? AMP_WAIT_FOREVER : 0;
    uint32_t spent = p->ops->time_ms(p->ctx) - d->start_ms; /* wraps safely */
    return spent >= (uint32_t)d->timeout_ms ? 0 : d->timeout_ms - (int32_t)spent;
}

#endif /* AMP_PLATFORM_H */
