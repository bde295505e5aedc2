/*
 * A foreign rpmsg host (virtio driver) written straight on the ring bytes,
 * sharing no code with src/vring or src/rpmsg, that behaves the way other
 * stacks' hosts do where the standard leaves room (reference.md section 7):
 *
 * - OPENAMP-like: takes a returned transmit buffer's used.len as its new
 *   capacity and truncates the next copy-send to it; re-posts a receive
 *   buffer with used.len as its new descriptor length; writes status =
 *   DRIVER_OK alone; keeps its free list in desc.next; sets NO_INTERRUPT on
 *   its own transmit ring.
 * - RPMSG_LITE-like master: no resource table; sets NO_INTERRUPT on its
 *   receive ring and never clears it; pre-fills the used side of its
 *   transmit ring, so that ring's used.idx starts at num; takes used.len as
 *   the zero-copy capacity.
 *
 * It never trusts the remote either: a used index running ahead by more than
 * num, an id out of range or a length over the buffer is a protocol error,
 * counted in `errors`, not a crash. Ours, not copied from any peer.
 */
#ifndef TEST_FOREIGN_HOST_H
#define TEST_FOREIGN_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FH_MAX_NUM 256u
#define FH_HDR 16u

enum fh_style { FH_OPENAMP, FH_RPMSG_LITE };

struct fh_ring {
    uint8_t *base;
    uint16_t last_used;      /* next used entry we look at */
    uint16_t avail_idx;      /* our shadow of avail.idx */
};

struct fh {
    enum fh_style style;
    uint16_t num;
    uint32_t align;
    struct fh_ring ring[2];  /* 0: remote -> host (our rx), 1: host -> remote (our tx) */
    uint8_t *shm;            /* descriptors hold shm_pa + (buffer - shm) */
    uint64_t shm_pa;
    size_t shm_size;
    uint8_t *pool;           /* rx buffers [0, num), tx buffers [num, 2 num) */
    uint32_t buf_size;
    uint32_t tx_cap[FH_MAX_NUM];   /* capacity the host believes each tx buffer has */
    uint16_t tx_free[FH_MAX_NUM];  /* tx descriptor ids we may fill */
    uint16_t tx_nfree;
    uint32_t local_addr;
    /* What it saw. */
    unsigned errors;         /* protocol violations by the remote */
    unsigned truncated;      /* sends cut short by a capacity taken from used.len */
    unsigned short_used_len; /* used entries whose len was below the descriptor's */
    unsigned received;
};

static inline uint16_t fh_rd16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t fh_rd32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void fh_wr16(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void fh_wr32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void fh_wr64(void *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint64_t fh_rd64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Byte offsets inside one ring (reference.md section 1). */
static inline uint8_t *fh_desc(struct fh *h, int r, uint16_t i)
{
    return h->ring[r].base + 16u * i;
}
static inline uint8_t *fh_avail(struct fh *h, int r) { return h->ring[r].base + 16u * h->num; }
static inline uint8_t *fh_used(struct fh *h, int r)
{
    size_t off = 16u * h->num + 2u * (3u + h->num);
    off = (off + h->align - 1) & ~(size_t)(h->align - 1);
    return h->ring[r].base + off;
}

static inline size_t fh_ring_size(uint16_t num, uint32_t align)
{
    size_t off = 16u * num + 2u * (3u + num);
    off = (off + align - 1) & ~(size_t)(align - 1);
    return off + 6u + 8u * num;
}

static inline uint8_t *fh_buf(struct fh *h, uint32_t index)
{
    return h->pool + (size_t)index * h->buf_size;
}

static inline uint64_t fh_addr(struct fh *h, const uint8_t *buf)
{
    return h->shm_pa + (uint64_t)(buf - h->shm);
}

static inline void fh_publish(struct fh *h, int r, uint16_t id)
{
    uint8_t *avail = fh_avail(h, r);
    fh_wr16(avail + 4 + 2u * (h->ring[r].avail_idx % h->num), id);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    h->ring[r].avail_idx++;
    fh_wr16(avail + 2, h->ring[r].avail_idx);
}

/*
 * Lay out both rings (zeroed) at vring0/vring1 and post every receive
 * buffer. The pool holds num receive buffers, then tx_count (<= num)
 * transmit buffers, of buf_size bytes.
 */
static inline void fh_init(struct fh *h, enum fh_style style, uint8_t *vring0, uint8_t *vring1,
                           uint16_t num, uint32_t align, uint8_t *shm, uint64_t shm_pa,
                           size_t shm_size, uint8_t *pool, uint32_t buf_size, uint16_t tx_count)
{
    memset(h, 0, sizeof(*h));
    h->style = style;
    h->num = num;
    h->align = align;
    h->ring[0].base = vring0;
    h->ring[1].base = vring1;
    h->shm = shm;
    h->shm_pa = shm_pa;
    h->shm_size = shm_size;
    h->pool = pool;
    h->buf_size = buf_size;
    h->local_addr = 0x400;
    memset(vring0, 0, fh_ring_size(num, align));
    memset(vring1, 0, fh_ring_size(num, align));
    for (uint16_t i = 0; i < num; i++) {
        uint8_t *d = fh_desc(h, 0, i);
        fh_wr64(d, fh_addr(h, fh_buf(h, i)));
        fh_wr32(d + 8, buf_size);
        fh_wr16(d + 12, 2 /* WRITE */);
        fh_publish(h, 0, i);
    }
    for (uint16_t i = 0; i < tx_count; i++) {
        uint8_t *d = fh_desc(h, 1, i);
        fh_wr64(d, fh_addr(h, fh_buf(h, num + i)));
        fh_wr32(d + 8, buf_size);
        h->tx_cap[i] = buf_size;
    }
    if (style == FH_OPENAMP) {
        /* Free list threaded through desc.next; its own tx ring wants no interrupts. */
        for (uint16_t i = 0; i < tx_count; i++) {
            fh_wr16(fh_desc(h, 1, i) + 14, (uint16_t)(i + 1));
            h->tx_free[h->tx_nfree++] = (uint16_t)(tx_count - 1 - i);
        }
        fh_wr16(fh_avail(h, 1), 1 /* NO_INTERRUPT */);
    } else {
        /* rpmsg-lite: every tx buffer starts out on the used ring; used.idx = num. */
        uint8_t *used = fh_used(h, 1);
        for (uint16_t i = 0; i < tx_count; i++) {
            fh_wr32(used + 4 + 8u * i, i);
            fh_wr32(used + 8 + 8u * i, buf_size);
        }
        fh_wr16(used + 2, tx_count);
        /* Its receive ring asks for no interrupts, and it never clears that. */
        fh_wr16(fh_avail(h, 0), 1 /* NO_INTERRUPT */);
    }
}

/* Take one entry off ring r's used side: 0 and id/len, 1 if none, -1 on a violation. */
static inline int fh_take_used(struct fh *h, int r, uint16_t *id, uint32_t *len)
{
    uint8_t *used = fh_used(h, r);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint16_t idx = fh_rd16(used + 2);
    uint16_t pending = (uint16_t)(idx - h->ring[r].last_used);
    if (pending == 0)
        return 1;
    if (pending > h->num) {
        h->errors++;
        return -1;
    }
    uint8_t *e = used + 4 + 8u * (h->ring[r].last_used % h->num);
    uint32_t i = fh_rd32(e), l = fh_rd32(e + 4);
    if (i >= h->num || l > h->buf_size) {
        h->errors++;
        return -1;
    }
    if (l < fh_rd32(fh_desc(h, r, (uint16_t)i) + 8))
        h->short_used_len++;
    h->ring[r].last_used++;
    *id = (uint16_t)i;
    *len = l;
    return 0;
}

/* Reclaim sent buffers; each one's capacity becomes what used.len says. */
static inline void fh_reclaim(struct fh *h)
{
    uint16_t id;
    uint32_t len;
    while (fh_take_used(h, 1, &id, &len) == 0) {
        h->tx_cap[id] = len;
        h->tx_free[h->tx_nfree++] = id;
    }
}

/*
 * Copy-send like the foreign host does: the payload is cut to the
 * capacity it believes the buffer has (counted in `truncated`). Returns the
 * bytes sent, or -1 with no free buffer.
 */
static inline int fh_send(struct fh *h, uint32_t src, uint32_t dst, const void *data, uint32_t len)
{
    fh_reclaim(h);
    if (h->tx_nfree == 0)
        return -1;
    uint16_t id = h->tx_free[--h->tx_nfree];
    uint32_t cap = h->tx_cap[id] > FH_HDR ? h->tx_cap[id] - FH_HDR : 0;
    if (len > cap) {
        h->truncated++;
        len = cap;
    }
    uint8_t *d = fh_desc(h, 1, id);
    uint8_t *buf = h->shm + (fh_rd64(d) - h->shm_pa);
    fh_wr32(buf, src);
    fh_wr32(buf + 4, dst);
    fh_wr32(buf + 8, 0);
    fh_wr16(buf + 12, (uint16_t)len);
    fh_wr16(buf + 14, 0);
    memcpy(buf + FH_HDR, data, len);
    /* Both stacks post the whole buffer, whatever the message's length. */
    fh_wr32(d + 8, h->buf_size);
    fh_publish(h, 1, id);
    return (int)len;
}

typedef void (*fh_rx_fn)(struct fh *h, uint32_t src, uint32_t dst, const uint8_t *data,
                         uint32_t len, void *priv);

/*
 * Receive everything the remote returned on vring 0, then re-post each
 * buffer: OpenAMP with used.len as the new descriptor length, rpmsg-lite
 * unchanged. Returns the number of messages.
 */
static inline int fh_poll(struct fh *h, fh_rx_fn fn, void *priv)
{
    int n = 0;
    uint16_t id;
    uint32_t len;
    while (fh_take_used(h, 0, &id, &len) == 0) {
        uint8_t *d = fh_desc(h, 0, id);
        uint8_t *buf = h->shm + (fh_rd64(d) - h->shm_pa);
        uint16_t plen = fh_rd16(buf + 12);
        if (len < FH_HDR || plen > len - FH_HDR) {
            h->errors++;
        } else {
            h->received++;
            if (fn)
                fn(h, fh_rd32(buf), fh_rd32(buf + 4), buf + FH_HDR, plen, priv);
        }
        if (h->style == FH_OPENAMP)
            fh_wr32(d + 8, len);
        fh_publish(h, 0, id);
        n++;
    }
    return n;
}

#endif
