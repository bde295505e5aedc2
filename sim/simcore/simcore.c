/*
 * amp-simcore - the simulated remote core of the sim-h747 board.
 *
 * Started by the host library (src/sim) with the board memory and the two
 * doorbells at fixed descriptor numbers:
 *   3 doorbell host->core (eventfd, the firmware waits on it)
 *   4 doorbell core->host (eventfd, the firmware writes it)
 *   5 flash  (1 MiB, device address 0x08100000)
 *   6 sram   (288 KiB, 0x10000000)
 *   7 shared (64 KiB, 0x38000000)
 * Usage: amp-simcore <entry> [<host pid>]
 *
 * It maps the memory at the device addresses and jumps to the entry. From
 * then on the process is the firmware; whatever ends it (exit, fault) is
 * the core stopping, which the host sees through its pidfd.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core_args.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define FD_FIRST_MEM 5

struct region {
    const char *name;
    int fd;
    uintptr_t da;
    size_t size;
};

static const struct region regions[] = {
    { "flash", 5, 0x08100000u, 0x00100000u },
    { "sram", 6, 0x10000000u, 0x00048000u },
    { "shared", 7, 0x38000000u, 0x00010000u },
};

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "amp-simcore: %s: %s\n", what, detail);
    return 127;
}

static int map_region(const struct region *r)
{
    struct stat st;
    if (fstat(r->fd, &st) != 0)
        return fail(r->name, strerror(errno));
    if (st.st_size < 0 || (uint64_t)st.st_size < r->size)
        return fail(r->name, "memory file smaller than the region");
    void *p = mmap((void *)r->da, r->size, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_SHARED | MAP_FIXED_NOREPLACE, r->fd, 0);
    if (p == MAP_FAILED)
        return fail(r->name, strerror(errno));
    if (p != (void *)r->da) /* a kernel without MAP_FIXED_NOREPLACE treats it as a hint */
        return fail(r->name, "device address range is taken");
    return 0;
}

int main(int argc, char **argv)
{
    /* The core must not outlive the host that owns the board. */
    unsigned long long entry;
    int rc = core_args(argc, argv, "amp-simcore", "bad entry address", ~0ull, &entry);
    if (rc)
        return rc;

    int entry_ok = 0;
    for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++) {
        rc = map_region(&regions[i]);
        if (rc)
            return rc;
        if (entry >= regions[i].da && entry < regions[i].da + regions[i].size)
            entry_ok = 1;
    }
    if (!entry_ok)
        return fail("entry outside board memory", argv[1]);
    /* The mappings stay; only the doorbells (3, 4) and stdio remain open. */
    if (close_range(FD_FIRST_MEM, ~0u, 0) != 0)
        return fail("close_range", strerror(errno));

    /* crt0 sets its own stack and never returns. */
    void (*start)(void) = (void (*)(void))(uintptr_t)entry;
    start();
    return fail("firmware", "returned to amp-simcore");
}
