/*
 * The simulated core is a process: amp-simcore (native x86-64 firmware) or
 * amp-simcore-cm4 (an emulated Cortex-M4, for EM_ARM firmware), exec'd
 * fresh on every start so the firmware gets a clean address space, with the
 * board memory and doorbells at fixed descriptor numbers. A pidfd tells us
 * at once when it dies; SIGKILL stops it at once. A pipe at descriptor 8
 * carries the emulated core's crash reason (pc, lr, sp, xPSR).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_internal.h"

extern char **environ;

/* Lowest descriptor the child may use while shuffling into 3..7. */
#define CHILD_FD_SCRATCH 16

/* The core's own line on the reason pipe (amp-simcore-cm4 writes one), if any. */
static void read_reason(struct amp_sim_board *board)
{
    size_t n = 0;
    if (board->reason_fd >= 0) {
        while (n + 1 < sizeof board->crash_reason) {
            ssize_t r = read(board->reason_fd, board->crash_reason + n,
                             sizeof board->crash_reason - 1 - n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            n += (size_t)r;
        }
    }
    while (n && (board->crash_reason[n - 1] == '\n' || board->crash_reason[n - 1] == '\0'))
        n--;
    board->crash_reason[n] = '\0';
}

static void forget_core(struct amp_sim_board *board)
{
    if (board->reason_fd >= 0)
        close(board->reason_fd);
    board->reason_fd = -1;
    if (board->pidfd >= 0) {
        epoll_ctl(board->notify_fd, EPOLL_CTL_DEL, board->pidfd, NULL);
        close(board->pidfd);
    }
    board->pidfd = -1;
    board->pid = -1;
}

bool sim_core_check(struct amp_sim_board *board)
{
    if (board->pid <= 0)
        return true;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do
        rc = waitid(P_PIDFD, (id_t)board->pidfd, &info, WEXITED | WNOHANG);
    while (rc < 0 && errno == EINTR);
    if (rc == 0 && info.si_pid == 0)
        return false;  /* still running */
    /* Ended on its own, or reaped behind our back (ECHILD): gone either way. */
    board->core_died = true;
    board->core_code = rc == 0 ? info.si_code : 0;
    board->core_status = rc == 0 ? info.si_status : -1;
    read_reason(board);
    forget_core(board);
    return true;
}

void sim_core_kill(struct amp_sim_board *board)
{
    if (board->pid <= 0)
        return;
    /* Through the pidfd: the pid cannot have been reused. */
    if (pidfd_send_signal(board->pidfd, SIGKILL, NULL, 0) != 0 && errno != ESRCH)
        kill(board->pid, SIGKILL);
    siginfo_t info;
    int rc;
    do
        rc = waitid(P_PIDFD, (id_t)board->pidfd, &info, WEXITED);
    while (rc < 0 && errno == EINTR);
    forget_core(board);
}

/*
 * In the child between fork and exec: only async-signal-safe calls.
 * Returns only on failure, with errno set.
 */
static void child_exec(struct amp_sim_board *board, pid_t parent, const cpu_set_t *cpus,
                       char *const argv[], int *err_fd, int reason_fd)
{
    /* The core must not outlive the host (amp-simcore sets it again). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        return;
    if (getppid() != parent) {
        errno = ESRCH;
        return;
    }
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (cpus && sched_setaffinity(0, sizeof *cpus, cpus) != 0)
        return;

    const int src[6] = { board->to_core_fd, board->to_host_fd, board->mem_fd[SIM_FLASH],
                         board->mem_fd[SIM_SRAM], board->mem_fd[SIM_SHARED], reason_fd };
    int tmp[6];
    /* Move everything out of 3..8 first so the dup2s below cannot collide. */
    for (int i = 0; i < 6; i++) {
        tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, CHILD_FD_SCRATCH);
        if (tmp[i] < 0)
            return;
    }
    if (dup2(*err_fd, CHILD_FD_SCRATCH - 1) < 0 ||
        fcntl(CHILD_FD_SCRATCH - 1, F_SETFD, FD_CLOEXEC) != 0)
        return;
    *err_fd = CHILD_FD_SCRATCH - 1;
    for (int i = 0; i < 6; i++)
        if (dup2(tmp[i], SIM_FD_DOORBELL_TO_CORE + i) < 0)  /* dup2 clears CLOEXEC */
            return;
    /* Nothing else of ours goes to the core (the error pipe closes on exec). */
    if (close_range(SIM_FD_REASON + 1, CHILD_FD_SCRATCH - 2, 0) != 0 ||
        close_range(CHILD_FD_SCRATCH, ~0u, 0) != 0)
        return;
    execve(argv[0], argv, environ);
}

/* Flash at `boot` holds a Cortex-M vector table: initial SP in RAM, an odd
 * reset vector in flash. For boots by address of flash an earlier run wrote. */
static bool looks_like_vectors(struct amp_sim_board *board, uint64_t boot)
{
    const uint8_t *v = amp_mem_da_to_va(&board->map, boot, 8);
    if (!v)
        return false;
    uint32_t sp, pc;              /* any address may be asked: unaligned reads */
    memcpy(&sp, v, 4);
    memcpy(&pc, v + 4, 4);
    sp = amp_le32(sp);
    pc = amp_le32(pc);
    return sp > AMP_SIM_SRAM_DA && sp <= AMP_SIM_SRAM_DA + AMP_SIM_SRAM_SIZE && (pc & 1u) &&
           pc >= AMP_SIM_FLASH_DA && pc < AMP_SIM_FLASH_DA + AMP_SIM_FLASH_SIZE;
}

static int sim_start(void *ctx, uint64_t entry)
{
    struct amp_sim_board *board = ctx;
    if (board->pid > 0 && !sim_core_check(board))
        return -AMP_EBUSY;

    enum sim_core_type type = board->core_type;
    if (type == SIM_CORE_UNKNOWN) {
        type = looks_like_vectors(board, entry) ? SIM_CORE_CM4 : SIM_CORE_NATIVE;
        /* BOOT_CM4_ADD0 keeps only address bits 31:16 (RM0399 SYSCFG_UR3), so
         * the chip boots the M4 from the 64 KiB boundary below the address
         * written. MicroPython's stm32 port writes the ELF entry there
         * (HAL_SYSCFG_CM4BootAddConfig(rproc->bootaddr)) after OpenAMP's
         * loader placed the image. */
        if (type == SIM_CORE_NATIVE && looks_like_vectors(board, entry & ~(uint64_t)0xFFFF)) {
            type = SIM_CORE_CM4;
            entry &= ~(uint64_t)0xFFFF;
        }
    }
    char simcore_cm4[PATH_MAX];
    const char *program = board->simcore;
    if (type == SIM_CORE_CM4) {
        /* Like the chip: boot from the vector table at BOOT_CM4_ADD0, which
         * is the start of flash for an ELF, else the address given. */
        if (board->core_type == SIM_CORE_CM4 && entry == board->elf_entry)
            entry = AMP_SIM_FLASH_DA;
        int n = snprintf(simcore_cm4, sizeof simcore_cm4, "%s-cm4", board->simcore);
        if (n < 0 || (size_t)n >= sizeof simcore_cm4)
            return -AMP_ENOENT;
        program = simcore_cm4;
    }

    char entry_s[24], parent_s[24];
    pid_t parent = getpid();
    snprintf(entry_s, sizeof entry_s, "0x%" PRIx64, entry);
    snprintf(parent_s, sizeof parent_s, "%d", (int)parent);
    char *const argv[] = { (char *)program, entry_s, parent_s, NULL };
    cpu_set_t cpus;
    if (board->cpu >= 0) {
        if (board->cpu >= CPU_SETSIZE)
            return -AMP_EINVAL;
        CPU_ZERO(&cpus);
        CPU_SET(board->cpu, &cpus);
    }

    /* A stale doorbell of the core's would only be a spurious wake-up for us.
     * The host's stays: it may be this boot's, rung while shared memory was
     * set up before the core runs (like a pending interrupt; rpmsg-lite's
     * remote waits for it as its link-up). */
    uint64_t junk;
    while (read(board->to_host_fd, &junk, sizeof junk) > 0)
        ;

    /* exec failures come back through a close-on-exec pipe. */
    int errpipe[2], reason[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0)
        return -AMP_EIO;
    if (pipe2(reason, O_CLOEXEC | O_NONBLOCK) != 0) {
        close(errpipe[0]);
        close(errpipe[1]);
        return -AMP_EIO;
    }
    board->crash_reason[0] = '\0';
    pid_t pid = fork();
    if (pid < 0) {
        close(errpipe[0]);
        close(errpipe[1]);
        close(reason[0]);
        close(reason[1]);
        return -AMP_EIO;
    }
    if (pid == 0) {
        int err_fd = errpipe[1];
        child_exec(board, parent, board->cpu >= 0 ? &cpus : NULL, argv, &err_fd, reason[1]);
        int e = errno;
        ssize_t w = write(err_fd, &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(errpipe[1]);
    close(reason[1]);
    int pidfd = pidfd_open(pid, 0);
    int child_errno = 0;
    ssize_t n;
    do
        n = read(errpipe[0], &child_errno, sizeof child_errno);
    while (n < 0 && errno == EINTR);
    close(errpipe[0]);

    if (n != 0 || pidfd < 0) {
        /* exec failed (or we cannot watch the child): clean up, report. */
        if (pidfd >= 0)
            close(pidfd);
        close(reason[0]);
        kill(pid, SIGKILL);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (n > 0 && (child_errno == ENOENT || child_errno == EACCES))
            return -AMP_ENOENT;
        if (n > 0 && child_errno == EINVAL)
            return -AMP_EINVAL;  /* e.g. a CPU we may not use */
        return -AMP_EIO;
    }
    board->pid = pid;
    board->pidfd = pidfd;
    board->reason_fd = reason[0];
    board->core_died = false;
    board->core_code = 0;
    board->core_status = 0;
    board->polls = 0;
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = pidfd };
    if (epoll_ctl(board->notify_fd, EPOLL_CTL_ADD, pidfd, &ev) != 0) {
        sim_core_kill(board);
        return -AMP_EIO;
    }
    return 0;
}

static int sim_stop(void *ctx)
{
    struct amp_sim_board *board = ctx;
    sim_core_kill(board);
    board->core_died = false;
    return 0;
}

static enum amp_rproc_state sim_state(void *ctx)
{
    struct amp_sim_board *board = ctx;
    if (!sim_core_check(board))
        return AMP_RPROC_RUNNING;
    return board->core_died ? AMP_RPROC_CRASHED : AMP_RPROC_STOPPED;
}

const struct amp_rproc_board_ops sim_board_ops = {
    .start = sim_start,
    .stop = sim_stop,
    .state = sim_state,
    .host_table = sim_host_table,
};

int amp_sim_core_pid(struct amp_sim_board *board)
{
    if (!board)
        return -1;
    sim_core_check(board);
    return board->pid > 0 ? (int)board->pid : -1;
}

int amp_sim_crash_reason(struct amp_sim_board *board, char *buf, size_t len)
{
    if (!board || !buf || len == 0)
        return -AMP_EINVAL;
    buf[0] = '\0';
    sim_core_check(board);
    if (!board->core_died)
        return 0;
    int n;
    if (board->crash_reason[0])
        n = snprintf(buf, len, "%s", board->crash_reason);  /* the core said why */
    else if (board->core_code == CLD_EXITED)
        n = snprintf(buf, len, "the firmware exited with status %d", board->core_status);
    else if (board->core_code == CLD_KILLED || board->core_code == CLD_DUMPED)
        n = snprintf(buf, len, "killed by signal %d (SIG%s)", board->core_status,
                     sigabbrev_np(board->core_status) ? sigabbrev_np(board->core_status) : "?");
    else
        n = snprintf(buf, len, "ended (how is unknown)");
    return n < 0 ? -AMP_EIO : (int)((size_t)n < len ? (size_t)n : len - 1);
}
