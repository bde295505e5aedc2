/*
 * The input languages of fuzz_rpmsg and fuzz_ns, shared with the seed
 * generator. An input is a config byte and then a sequence of operations;
 * each operation is an opcode byte (taken modulo the count) and its
 * arguments. Missing bytes read as zero.
 */
#ifndef FUZZ_OPS_H
#define FUZZ_OPS_H

/* Config byte. */
#define FZ_CFG_PHYS      0x01u   /* descriptors hold physical addresses (else offsets) */
#define FZ_CFG_NS        0x02u   /* offer the name-service feature */
#define FZ_CFG_EVENT_IDX 0x04u   /* offer VIRTIO_F_EVENT_IDX */
#define FZ_CFG_HOLD      0x08u   /* rx callbacks hold every other buffer */
#define FZ_CFG_ECHO      0x10u   /* rx callbacks send the message back */
#define FZ_CFG_BUF_SHIFT 5       /* bits 5-6: buffer size 512, 256, 128, 64 */

/* fuzz_rpmsg operations. */
enum fz_rpmsg_op {
    FZ_OP_POLL_H,       /* host polls */
    FZ_OP_POLL_R,       /* remote polls */
    FZ_OP_SEND_H,       /* u8 endpoint | timeout << 4, u8 len: host copy-sends */
    FZ_OP_SEND_R,
    FZ_OP_ZC_H,         /* u8 endpoint, u8 len: zero-copy send (or give back if too big) */
    FZ_OP_ZC_R,
    FZ_OP_RELEASE_H,    /* give back the last rx buffer the host held */
    FZ_OP_RELEASE_R,
    FZ_OP_WRITE,        /* u8 area, u16 offset, u8 n (1..8), n bytes: the peer writes now */
    FZ_OP_RACE,         /* same, written at the next platform op or callback */
    FZ_OP_ARM,          /* u8: bit 0 side, bit 1 arm (else disarm) */
    FZ_OP_CORK,         /* u8: host cork on (odd) / off */
    FZ_OP_REINIT,       /* u8: bit 0 side: reset and init that side again */
    FZ_OP_COUNT
};

/* Where a WRITE lands (num 64, align 32 rings: desc 1024, avail 134, used 518 bytes). */
enum fz_area {
    FZ_AREA_DESC_H2R,
    FZ_AREA_AVAIL_H2R,
    FZ_AREA_USED_H2R,
    FZ_AREA_DESC_R2H,
    FZ_AREA_AVAIL_R2H,
    FZ_AREA_USED_R2H,
    FZ_AREA_HDR_H2R,    /* offset: buffer (high bits) and header byte (low 4 bits) */
    FZ_AREA_HDR_R2H,
    FZ_AREA_TABLE,      /* the resource table: vdev status, features, vrings */
    FZ_AREA_ANY,        /* anywhere in the 64 KiB region */
    FZ_AREA_COUNT
};

/* fuzz_ns operations (the device under test is the host unless cfg bit 7). */
#define FZ_NS_CFG_REMOTE 0x80u
#define FZ_NS_CFG_BIND   0x40u   /* the new-service callback creates an endpoint */
#define FZ_NS_CFG_UNBIND 0x20u   /* the unbind callback destroys its endpoint */
enum fz_ns_op {
    FZ_NS_CREATE_EPT,   /* u8: slot (low 3 bits), name index (next 2 bits) */
    FZ_NS_DESTROY_EPT,  /* u8 slot */
    FZ_NS_ANNOUNCE,     /* u8 name index, u8 flags, u16 addr: the peer sends an NS message */
    FZ_NS_RAW,          /* u8 len, len bytes: the peer sends them to address 53 */
    FZ_NS_PUMP,         /* both sides poll */
    FZ_NS_SEND,         /* u8 slot: that endpoint sends to its destination */
    FZ_NS_PEER_EPT,     /* u8: the peer creates (even) or destroys (odd) endpoint "svc<n>" */
    FZ_NS_COUNT
};

#endif /* FUZZ_OPS_H */
