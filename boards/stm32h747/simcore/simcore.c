/*
 * amp-simcore - the simulated remote core of the sim-h747 board.
 *
 * Started by the host library (../sim) with the board memory and the two
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
#include <ucontext.h>
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

/* ---- A fault says where it happened (stderr), then kills the core as before. */

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_hex(char *p, uint64_t v)
{
    char digits[16];
    int n = 0;
    do  /* at least 8 digits, like the host's messages */
        digits[n++] = "0123456789abcdef"[v & 15];
    while (((v >>= 4) || n < 8) && n < 16);
    p = put_str(p, "0x");
    while (n)
        *p++ = digits[--n];
    return p;
}

/* Async-signal-safe: formats by hand, one write(). SA_RESETHAND: returning
 * re-runs the faulting instruction, which now takes the default action. */
static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    char msg[160], *p = msg;
    p = put_str(p, "amp-simcore: ");
    const char *name = sigabbrev_np(sig);
    p = put_str(p, "SIG");
    p = put_str(p, name ? name : "?");
    p = put_str(p, " at address ");
    p = put_hex(p, (uint64_t)(uintptr_t)si->si_addr);
#if defined(__x86_64__)
    const ucontext_t *uc = ucv;
    p = put_str(p, ", pc ");
    p = put_hex(p, (uint64_t)uc->uc_mcontext.gregs[REG_RIP]);
#else
    (void)ucv;
#endif
    *p++ = '\n';
    ssize_t w = write(2, msg, (size_t)(p - msg));
    (void)w;
}

static void catch_faults(void)
{
    /* Its own stack: the firmware's may be what overflowed. */
    static char alt[16384] __attribute__((aligned(16)));
    stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
    sigaltstack(&ss, NULL);
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
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

    catch_faults();
    /* crt0 sets its own stack and never returns. */
    void (*start)(void) = (void (*)(void))(uintptr_t)entry;
    start();
    return fail("firmware", "returned to amp-simcore");
}
