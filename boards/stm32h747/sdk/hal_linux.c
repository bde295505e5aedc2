/*
 * The sim-h747 HAL for the native (x86-64) core: raw Linux system calls (no
 * libc) on the doorbell descriptors amp-simcore hands over. The common part
 * (trace, platform ops, rpmsg bring-up) is hal.c.
 */
#include "amp_fw.h"

/* x86-64 Linux system call numbers and constants used below. */
#define SYS_read          0
#define SYS_write         1
#define SYS_clock_gettime 228
#define SYS_exit_group    231
#define SYS_ppoll         271
#define LINUX_EINTR  4
#define LINUX_EAGAIN 11
#define LINUX_CLOCK_MONOTONIC 1
#define LINUX_POLLIN 1

struct linux_timespec {
    int64_t tv_sec;
    int64_t tv_nsec;
};

struct linux_pollfd {
    int32_t fd;
    int16_t events;
    int16_t revents;
};

static inline long sys3(long n, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static inline long sys5(long n, long a, long b, long c, long d, long e)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

_Noreturn void amp_fw_exit(int code)
{
    for (;;)
        sys3(SYS_exit_group, code, 0, 0);
}

/* ---- Doorbells ---- */

void amp_fw_doorbell_raise(void)
{
    uint64_t one = 1;
    long rc;
    do
        rc = sys3(SYS_write, AMP_FW_FD_DOORBELL_OUT, (long)&one, sizeof one);
    while (rc == -LINUX_EINTR);
    /* Only an overflowing counter could fail (never: the host drains it). */
}

bool amp_fw_doorbell_take(void)
{
    uint64_t count;
    long rc;
    do
        rc = sys3(SYS_read, AMP_FW_FD_DOORBELL_IN, (long)&count, sizeof count);
    while (rc == -LINUX_EINTR);
    return rc == (long)sizeof count; /* -EAGAIN: nothing pending (fd is non-blocking) */
}

int amp_fw_doorbell_wait(int32_t timeout_ms)
{
    if (amp_fw_doorbell_take())
        return 0;
    if (timeout_ms == 0)
        return -AMP_ETIMEDOUT;
    struct linux_pollfd pfd = { AMP_FW_FD_DOORBELL_IN, LINUX_POLLIN, 0 };
    struct linux_timespec ts = { timeout_ms / 1000, (int64_t)(timeout_ms % 1000) * 1000000 };
    long rc = sys5(SYS_ppoll, (long)&pfd, 1, timeout_ms < 0 ? 0 : (long)&ts, 0, 0);
    if (rc == 0)
        return -AMP_ETIMEDOUT;
    if (rc < 0 && rc != -LINUX_EINTR)
        return -AMP_EIO;
    amp_fw_doorbell_take();
    return 0; /* woken, or a signal: callers re-check the rings */
}

/* ---- Time ---- */

uint64_t amp_fw_time_ns(void)
{
    struct linux_timespec ts = { 0, 0 };
    if (sys3(SYS_clock_gettime, LINUX_CLOCK_MONOTONIC, (long)&ts, 0) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t amp_fw_time_ms(void)
{
    return (uint32_t)(amp_fw_time_ns() / 1000000u);
}

void amp_fw_cpu_relax(void)
{
    __builtin_ia32_pause();
}
