/*
 * soak_proto.h - the protocol between the soak host (tests/soak/soak.c) and
 * the soak firmware (firmware/soak.c), and the receive-side accounting both
 * use, so each direction is judged by the same code.
 *
 * One endpoint "soak" on each side, bound by the name service. Every message
 * starts with struct soak_hdr. Data messages carry a sequence number (0, 1,
 * 2, ... per direction), a payload whose length and bytes follow from the
 * sequence number, and a checksum over header fields and payload. Control:
 *   host -> core  START {arg = messages the core sends; 0 = until STOP}
 *   host -> core  STOP  (after the host's last data message)
 *   core -> host  REPORT {the core's send count and its receive accounting}
 * Freestanding: no libc (the firmware has none).
 */
#ifndef SOAK_PROTO_H
#define SOAK_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#define SOAK_SERVICE "soak"

enum soak_type {
    SOAK_DATA = 0x534f4b31u,    /* "1KOS" */
    SOAK_START,
    SOAK_STOP,
    SOAK_REPORT,
};

struct soak_hdr {
    uint32_t type;
    uint32_t len;       /* payload bytes after this header */
    uint64_t seq;
    uint64_t sum;       /* soak_sum() of type, len, seq and the payload */
};
_Static_assert(sizeof(struct soak_hdr) == 24, "soak header is 24 bytes");

/* Largest payload a data message carries: 496-byte rpmsg payload minus our header. */
#define SOAK_MAX_PAYLOAD 472u

/* What a receiver saw, per direction. */
struct soak_counts {
    uint64_t received;      /* data messages taken */
    uint64_t unique;        /* sequence numbers seen for the first time */
    uint64_t duplicated;    /* seen before */
    uint64_t reordered;     /* arrived after a later one */
    uint64_t late;          /* too far behind to tell duplicate from reordered */
    uint64_t corrupted;     /* wrong length, checksum or type */
};

struct soak_report {
    uint64_t sent;          /* data messages the core sent */
    struct soak_counts rx;  /* what the core received */
    int32_t error;          /* the core's last send or poll error, or 0 */
    uint32_t pad;
};

static inline uint64_t soak_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* Payload length of message `seq`: every length from 0 to the maximum occurs. */
static inline uint32_t soak_len(uint64_t seq)
{
    return (uint32_t)(soak_mix(seq) % (SOAK_MAX_PAYLOAD + 1u));
}

/* Payload bytes of message `seq`, eight at a time. */
static inline void soak_fill(uint8_t *p, uint32_t len, uint64_t seq)
{
    uint64_t x = soak_mix(seq ^ 0x5bd1e995u);
    for (uint32_t i = 0; i < len; i += 8) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t n = len - i < 8 ? len - i : 8;
        __builtin_memcpy(p + i, &x, n);
    }
}

static inline uint64_t soak_sum(const struct soak_hdr *h, const uint8_t *payload, uint32_t len)
{
    uint64_t s = soak_mix(h->seq ^ ((uint64_t)h->type << 32) ^ h->len);
    uint32_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, payload + i, 8);
        s = (s ^ w) * 0x100000001b3ull;
        s ^= s >> 29;
    }
    for (; i < len; i++)
        s = (s ^ payload[i]) * 0x100000001b3ull;
    return s;
}

/* Write data message `seq` into buf (room for 24 + SOAK_MAX_PAYLOAD bytes); returns its size. */
static inline uint32_t soak_build(void *buf, uint64_t seq)
{
    struct soak_hdr h = { SOAK_DATA, soak_len(seq), seq, 0 };
    uint8_t *payload = (uint8_t *)buf + sizeof h;
    soak_fill(payload, h.len, seq);
    h.sum = soak_sum(&h, payload, h.len);
    __builtin_memcpy(buf, &h, sizeof h);
    return (uint32_t)sizeof h + h.len;
}

/*
 * Receive-side accounting with a window of the last SOAK_WINDOW sequence
 * numbers: which were seen, so a number behind the newest is told apart as
 * duplicated or reordered. Lost = sent - unique, once the sender's count is
 * known.
 */
#define SOAK_WINDOW 65536u
struct soak_rx {
    struct soak_counts c;
    uint64_t next;          /* one past the highest sequence number seen */
    uint64_t seen[SOAK_WINDOW / 64];
};

static inline bool soak_seen_test_and_set(struct soak_rx *rx, uint64_t seq)
{
    uint64_t bit = 1ull << (seq & 63u), *w = &rx->seen[(seq / 64u) % (SOAK_WINDOW / 64u)];
    bool was = *w & bit;
    *w |= bit;
    return was;
}

static inline void soak_seen_clear(struct soak_rx *rx, uint64_t seq)
{
    rx->seen[(seq / 64u) % (SOAK_WINDOW / 64u)] &= ~(1ull << (seq & 63u));
}

/* Account one received data message (`data`, `len` bytes as delivered). */
static inline void soak_account(struct soak_rx *rx, const void *data, uint32_t len)
{
    struct soak_hdr h;
    rx->c.received++;
    if (len < sizeof h) {
        rx->c.corrupted++;
        return;
    }
    __builtin_memcpy(&h, data, sizeof h);
    const uint8_t *payload = (const uint8_t *)data + sizeof h;
    if (h.type != SOAK_DATA || h.len != len - sizeof h || h.len != soak_len(h.seq) ||
        soak_sum(&h, payload, h.len) != h.sum) {
        rx->c.corrupted++;
        return;
    }
    if (h.seq >= rx->next) {
        /* Numbers skipped on the way are not seen yet (they may come late). */
        uint64_t from = h.seq - rx->next > SOAK_WINDOW ? h.seq - SOAK_WINDOW : rx->next;
        for (uint64_t s = from; s < h.seq; s++)
            soak_seen_clear(rx, s);
        soak_seen_clear(rx, h.seq);
        rx->next = h.seq + 1;
    } else if (rx->next - h.seq > SOAK_WINDOW) {
        rx->c.late++;
        return;
    } else if (!soak_seen_test_and_set(rx, h.seq)) {
        rx->c.unique++;
        rx->c.reordered++;
        return;
    } else {
        rx->c.duplicated++;
        return;
    }
    soak_seen_test_and_set(rx, h.seq);
    rx->c.unique++;
}

#endif /* SOAK_PROTO_H */
