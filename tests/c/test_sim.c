/*
 * End-to-end tests of the simulated board sim-h747: real firmware ELF files
 * (build/firmware/) booted on amp-simcore, talking rpmsg to this process.
 * Board names carry our pid so parallel runs do not collide; the last test
 * checks that no core process and no /dev/shm file of ours is left.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "amp/sim.h"
#include "firmware_dir.h"

#define SERVE_TIMEOUT_MS 5000
/* Room for a crash reason (the emulated M4's are about 150 bytes). */
#define SIM_REASON_LEN 320
/* The issue asks for 100 ms; the assertion leaves room for a loaded machine. */
#define CRASH_BOUND_MS 1000

static char fw_dir[PATH_MAX];
static unsigned board_seq;
/* The core type under test: the suite runs once per type (see main). Names
 * of build/firmware/ images: "<name>.elf" for the M4, "<name>-x86_64.elf". */
static bool on_cm4;
static const char *fw_suffix = "";

/* ---- Helpers ---- */

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void fw_path(char *out, size_t len, const char *fw)
{
    size_t base = strlen(fw);
    if (base > 4 && strcmp(fw + base - 4, ".elf") == 0)
        base -= 4;
    int n = snprintf(out, len, "%s/%.*s%s%s", fw_dir, (int)base, fw, fw_suffix, fw + base);
    assert_true(n > 0 && (size_t)n < len);
}

/* The entry an image of ours has: x86-64 _start at the start of flash; the
 * M4's Reset_Handler (Thumb, odd) somewhere in flash, after the vectors. */
static void assert_entry(const struct amp_rproc *rp)
{
    if (!on_cm4) {
        assert_int_equal(rp->entry, AMP_SIM_FLASH_DA);
        return;
    }
    assert_true(rp->entry & 1u);
    assert_true(rp->entry > AMP_SIM_FLASH_DA && rp->entry < AMP_SIM_FLASH_DA + AMP_SIM_FLASH_SIZE);
}

static void board_name(char *out, size_t len, const char *tag)
{
    int n = snprintf(out, len, "tsim%d-%s-%u", (int)getpid(), tag, board_seq++);
    assert_true(n > 0 && (size_t)n < len);
}

struct fixture {
    char name[64];
    struct amp_sim_board *board;
    struct amp_rproc *rp;
    const struct amp_platform *p;
    struct amp_rpmsg_device *dev;
    struct amp_rpmsg_endpoint ept;
    bool have_ept;
    unsigned rx_count;
    uint32_t rx_src;
    size_t rx_len;
    uint8_t rx[AMP_RPMSG_DEFAULT_BUF_SIZE];
};

static int on_rx(struct amp_rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                 void *priv)
{
    struct fixture *fx = priv;
    (void)ept;
    fx->rx_len = len;
    fx->rx_src = src;
    memcpy(fx->rx, data, len < sizeof fx->rx ? len : sizeof fx->rx);
    fx->rx_count++;
    return AMP_RPMSG_RELEASE;
}

/* Fixtures still open when a test fails are closed by its teardown. */
#define MAX_FIXTURES 4
static struct fixture *open_fixtures[MAX_FIXTURES];

static void fx_register(struct fixture *fx)
{
    for (int i = 0; i < MAX_FIXTURES; i++) {
        if (!open_fixtures[i]) {
            open_fixtures[i] = fx;
            return;
        }
    }
    fail_msg("too many fixtures");
}

static void fx_open_opts(struct fixture *fx, const char *name, enum amp_sim_wait_mode mode,
                         bool remove_flash, int cpu)
{
    char err[256];
    snprintf(fx->name, sizeof fx->name, "%s", name);
    struct amp_sim_options opt = {
        .name = fx->name,
        .wait_mode = mode,
        .remove_flash_on_close = remove_flash,
        .pin_cpu = cpu >= 0,
        .cpu = cpu,
    };
    int rc = amp_sim_open(&fx->board, &opt, err, sizeof err);
    if (rc)
        print_error("amp_sim_open: %s\n", err);
    assert_int_equal(rc, 0);
    fx_register(fx);
    fx->rp = amp_sim_rproc(fx->board);
    fx->p = amp_sim_platform(fx->board);
    assert_non_null(fx->rp);
    assert_non_null(fx->p);
}

static struct fixture *fx_new(const char *tag, enum amp_sim_wait_mode mode)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    char name[64];
    board_name(name, sizeof name, tag);
    fx_open_opts(fx, name, mode, true, -1);
    return fx;
}

static void fx_free(struct fixture *fx)
{
    for (int i = 0; i < MAX_FIXTURES; i++)
        if (open_fixtures[i] == fx)
            open_fixtures[i] = NULL;
    if (fx->have_ept)
        amp_rpmsg_destroy_ept(&fx->ept);
    amp_sim_close(fx->board);
    free(fx);
}

static void fx_ept(struct fixture *fx, const char *name)
{
    assert_int_equal(amp_sim_rpmsg(fx->board, &fx->dev), 0);
    assert_int_equal(amp_rpmsg_create_ept(&fx->ept, fx->dev, name, AMP_RPMSG_ADDR_ANY,
                                          AMP_RPMSG_ADDR_ANY, on_rx, NULL, fx),
                     0);
    fx->have_ept = true;
}

static void fx_load(struct fixture *fx, const char *fw)
{
    char path[PATH_MAX], err[512];
    fw_path(path, sizeof path, fw);
    int rc = amp_sim_load_file(fx->board, path, err, sizeof err);
    if (rc)
        print_error("load %s: %s\n", path, err);
    assert_int_equal(rc, 0);
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_LOADED);
}

typedef bool (*until_fn)(struct fixture *fx, unsigned arg);

/* Serve the device until done(): 0, or the error that stopped us. */
static int fx_serve(struct fixture *fx, until_fn done, unsigned arg, int32_t timeout_ms)
{
    struct amp_deadline dl;
    amp_deadline_start(&dl, fx->p, timeout_ms);
    for (;;) {
        int rc = amp_rpmsg_poll(fx->dev);
        if (rc < 0 && rc != -AMP_ENOTCONN)
            return rc;
        if (done(fx, arg))
            return 0;
        int32_t left = amp_deadline_left(&dl, fx->p);
        if (left == 0)
            return -AMP_ETIMEDOUT;
        rc = amp_rpmsg_wait(fx->dev, left);
        if (rc < 0 && rc != -AMP_ETIMEDOUT)
            return rc;
    }
}

static bool ept_ready(struct fixture *fx, unsigned arg)
{
    (void)arg;
    return amp_rpmsg_ept_is_ready(&fx->ept);
}

static bool rx_reached(struct fixture *fx, unsigned count)
{
    return fx->rx_count >= count;
}

static void fx_start_bound(struct fixture *fx)
{
    int rc = amp_rproc_start(fx->rp);
    if (rc)
        print_error("start: %s\n", amp_strerror(rc));
    assert_int_equal(rc, 0);
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_RUNNING);
    assert_true(amp_sim_core_pid(fx->board) > 0);
    rc = fx_serve(fx, ept_ready, 0, SERVE_TIMEOUT_MS);
    if (rc) {
        char trace[256];
        amp_sim_read_trace(fx->board, trace, sizeof trace);
        print_error("endpoint %s never bound: %s; trace: %s\n", fx->ept.name, amp_strerror(rc),
                    trace);
    }
    assert_int_equal(rc, 0);
}

static void fx_echo(struct fixture *fx, const void *data, size_t len)
{
    unsigned before = fx->rx_count;
    assert_int_equal(amp_rpmsg_send(&fx->ept, data, len, SERVE_TIMEOUT_MS), (int)len);
    assert_int_equal(fx_serve(fx, rx_reached, before + 1, SERVE_TIMEOUT_MS), 0);
    assert_int_equal(fx->rx_count, before + 1);
    assert_int_equal(fx->rx_len, len);
    assert_memory_equal(fx->rx, data, len);
    assert_int_equal(fx->rx_src, fx->ept.dest_addr);
}

static void fx_echo_text(struct fixture *fx, const char *text)
{
    fx_echo(fx, text, strlen(text));
}

static void fx_trace(struct fixture *fx, char *buf, size_t len)
{
    int n = amp_sim_read_trace(fx->board, buf, len);
    assert_true(n >= 0);
    assert_int_equal(strlen(buf), (size_t)n);
}

static bool process_gone(pid_t pid)
{
    /* Reaped children no longer exist; a zombie would still answer kill(0). */
    return kill(pid, 0) != 0 && errno == ESRCH;
}

/* ---- Life cycle ---- */

static void test_load_start_echo(void **state)
{
    (void)state;
    struct fixture *fx = fx_new("echo", AMP_SIM_WAIT_BLOCKING);
    fx_ept(fx, "vuart-channel");
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_OFFLINE);
    fx_load(fx, "virtual_uart.elf");
    assert_entry(fx->rp);
    assert_false(fx->rp->has_rsc);
    fx_start_bound(fx);

    fx_echo_text(fx, "hello");
    fx_echo_text(fx, "x");
    uint8_t bin[256];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)(255 - i);
    fx_echo(fx, bin, sizeof bin);
    /* The largest payload a 512-byte buffer carries. */
    uint8_t big[496];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(amp_rpmsg_max_payload(fx->dev), sizeof big);
    fx_echo(fx, big, sizeof big);
    for (int i = 0; i < 200; i++) {  /* more than the 64 rx buffers: they come back */
        char msg[32];
        snprintf(msg, sizeof msg, "message %d", i);
        fx_echo_text(fx, msg);
    }
    assert_int_equal(amp_rproc_stop(fx->rp), 0);
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_STOPPED);
    fx_free(fx);
}

static void test_stop_start_again(void **state)
{
    (void)state;
    struct fixture *fx = fx_new("restart", AMP_SIM_WAIT_BLOCKING);
    fx_ept(fx, "vuart-channel");
    fx_load(fx, "virtual_uart.elf");
    for (int round = 0; round < 3; round++) {
        fx_start_bound(fx);
        char msg[32];
        snprintf(msg, sizeof msg, "round %d", round);
        fx_echo_text(fx, msg);
        pid_t pid = amp_sim_core_pid(fx->board);
        assert_int_equal(amp_rproc_stop(fx->rp), 0);
        assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_STOPPED);
        assert_int_equal(amp_sim_core_pid(fx->board), -1);
        assert_true(process_gone(pid));  /* stopped at once, and reaped */
        assert_false(amp_rpmsg_ept_is_ready(&fx->ept));
    }
    /* shutdown forgets the image: nothing to start until the next load. */
    fx_start_bound(fx);
    assert_int_equal(amp_rproc_shutdown(fx->rp), 0);
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_OFFLINE);
    assert_int_not_equal(amp_rproc_start(fx->rp), 0);
    assert_int_equal(amp_sim_core_pid(fx->board), -1);
    fx_free(fx);
}

static bool shm_exists(const char *board)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/dev/shm/amp-%s-flash", board);
    struct stat st;
    return stat(path, &st) == 0;
}

/* An earlier process opens board `name`, loads `path` and goes away; the
 * flash file stays. */
static void load_in_earlier_process(const char *name, const char *path)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct amp_sim_board *b;
        struct amp_sim_options opt = { .name = name };
        char err[256];
        int code = 0;
        if (amp_sim_open(&b, &opt, err, sizeof err) != 0)
            code = 10;
        else if (amp_sim_load_file(b, path, err, sizeof err) != 0)
            code = 11;
        if (code != 10)
            amp_sim_close(b);
        if (code)
            fprintf(stderr, "child: %s\n", err);
        _exit(code);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * MicroPython's stm32 order on the M4: OpenAMP's loader (not ours) places
 * the image, then the boot address register gets the ELF entry (Thumb
 * Reset_Handler, inside flash). BOOT_CM4_ADD0 keeps bits 31:16, so the core
 * boots from the vector table at the 64 KiB boundary below it.
 */
static void test_cm4_boot_from_elf_entry(void **state)
{
    (void)state;
    char name[64], path[PATH_MAX];
    board_name(name, sizeof name, "boot-entry");
    fw_path(path, sizeof path, "virtual_uart.elf");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    Elf32_Ehdr eh;
    assert_int_equal(fread(&eh, sizeof eh, 1, f), 1);
    fclose(f);
    assert_int_equal(eh.e_machine, EM_ARM);
    assert_true((eh.e_entry & 0xFFFFu) != 0);   /* not a 64 KiB boundary itself */

    /* Another loader than the board's: an earlier process, flash kept. */
    load_in_earlier_process(name, path);

    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx_open_opts(fx, name, AMP_SIM_WAIT_BLOCKING, true, -1);
    fx_ept(fx, "vuart-channel");
    assert_int_equal(amp_rproc_set_entry(fx->rp, eh.e_entry), 0);
    fx_start_bound(fx);
    fx_echo_text(fx, "booted from the ELF entry's 64 KiB boundary");
    char trace[128];
    fx_trace(fx, trace, sizeof trace);
    assert_string_equal(trace, "virtual_uart: up\n");
    fx_free(fx);
}

static void test_boot_from_address(void **state)
{
    (void)state;
    char name[64], path[PATH_MAX];
    board_name(name, sizeof name, "boot");
    fw_path(path, sizeof path, "virtual_uart.elf");

    /* An earlier process loads the firmware and goes away, keeping flash. */
    load_in_earlier_process(name, path);
    assert_true(shm_exists(name));

    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx_open_opts(fx, name, AMP_SIM_WAIT_BLOCKING, true, -1);
    fx_ept(fx, "vuart-channel");
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_OFFLINE);
    assert_int_equal(amp_rproc_set_entry(fx->rp, AMP_SIM_FLASH_DA), 0);
    fx_start_bound(fx);
    fx_echo_text(fx, "booted from 0x08100000");
    char trace[128];
    fx_trace(fx, trace, sizeof trace);
    assert_string_equal(trace, "virtual_uart: up\n");
    fx_free(fx);
    assert_false(shm_exists(name));  /* remove_flash_on_close */

    /* A firmware with its own table, booted by address on a fresh board
     * instance (its SRAM copy of the table is gone): it falls back to the
     * host-built table. */
    board_name(name, sizeof name, "boot-rsc");
    fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx_open_opts(fx, name, AMP_SIM_WAIT_BLOCKING, false, -1);
    fx_load(fx, "rsc_echo.elf");
    fx_free(fx);
    fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx_open_opts(fx, name, AMP_SIM_WAIT_BLOCKING, true, -1);
    fx_ept(fx, "rsc-echo");
    assert_int_equal(amp_rproc_set_entry(fx->rp, AMP_SIM_FLASH_DA), 0);
    fx_start_bound(fx);
    assert_int_equal(fx->dev->cfg.addr_mode, AMP_ADDR_OFFSET);
    fx_echo_text(fx, "host-built table after all");
    fx_trace(fx, trace, sizeof trace);
    assert_string_equal(trace, "rsc_echo: up\n");
    fx_free(fx);
    assert_false(shm_exists(name));

    /* A fresh board's flash is erased (0xFF): booting it crashes at once. */
    fx = fx_new("erased", AMP_SIM_WAIT_BLOCKING);
    const uint8_t *flash = amp_mem_da_to_va(amp_sim_mem_map(fx->board), AMP_SIM_FLASH_DA, 16);
    assert_non_null(flash);
    assert_int_equal(flash[0], 0xFF);
    assert_int_equal(amp_rproc_set_entry(fx->rp, AMP_SIM_FLASH_DA), 0);
    assert_int_equal(amp_rproc_start(fx->rp), 0);
    int rc;
    do
        rc = fx->p->ops->wait(fx->p->ctx, CRASH_BOUND_MS);
    while (rc == 0);
    assert_int_equal(rc, -AMP_ENODEV);
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_CRASHED);
    fx_free(fx);
}

static void test_embedded_table(void **state)
{
    (void)state;
    struct fixture *fx = fx_new("rsc", AMP_SIM_WAIT_BLOCKING);
    fx_ept(fx, "rsc-echo");
    fx_load(fx, "rsc_echo.elf");
    assert_true(fx->rp->has_rsc);
    for (int round = 0; round < 2; round++) {
        fx_start_bound(fx);
        /* The host chose the vrings (ANY in the file) and wrote them back. */
        struct amp_rsc_vdev *vdev = amp_rsc_find_rpmsg_vdev(&fx->rp->rsc);
        assert_non_null(vdev);
        assert_true(vdev->status & AMP_VIRTIO_STATUS_DRIVER_OK);
        for (int i = 0; i < 2; i++) {
            uint32_t da = vdev->vring[i].da;
            assert_int_not_equal(da, AMP_RSC_ADDR_ANY);
            assert_true(da >= AMP_SIM_SHARED_DA && da < AMP_SIM_SHARED_DA + AMP_SIM_SHARED_SIZE);
        }
        assert_int_equal(fx->dev->cfg.addr_mode, AMP_ADDR_PHYS);
        fx_echo_text(fx, "embedded table");
        fx_echo_text(fx, "and again");
        /* Its trace buffer lives in its own SRAM, as its table says: first
         * in SRAM natively, after the 16 KiB stack on the M4. */
        char trace[256];
        fx_trace(fx, trace, sizeof trace);
        assert_string_equal(trace, "rsc_echo: up\n");
        assert_ptr_equal(fx->rp->trace, amp_mem_da_to_va(amp_sim_mem_map(fx->board),
                                                         AMP_SIM_SRAM_DA + (on_cm4 ? 0x4000 : 0),
                                                         1));
        assert_int_equal(amp_rproc_stop(fx->rp), 0);
    }
    fx_free(fx);
}

/* Wait through the device until the core is reported gone. */
static int wait_for_death(struct fixture *fx, int32_t timeout_ms)
{
    struct amp_deadline dl;
    amp_deadline_start(&dl, fx->p, timeout_ms);
    for (;;) {
        amp_rpmsg_poll(fx->dev);
        int32_t left = amp_deadline_left(&dl, fx->p);
        if (left == 0)
            return -AMP_ETIMEDOUT;
        int rc = amp_rpmsg_wait(fx->dev, left);
        if (rc == -AMP_ENODEV)
            return rc;
    }
}

static void test_fault_crash_and_restart(void **state)
{
    (void)state;
    struct fixture *fx = fx_new("fault", AMP_SIM_WAIT_BLOCKING);
    fx_ept(fx, "vuart-channel");
    fx_load(fx, "fault.elf");
    fx_start_bound(fx);
    fx_echo_text(fx, "still fine");

    pid_t pid = amp_sim_core_pid(fx->board);
    uint64_t t0 = now_us();
    assert_int_equal(amp_rpmsg_send(&fx->ept, "crash", 5, SERVE_TIMEOUT_MS), 5);
    assert_int_equal(wait_for_death(fx, CRASH_BOUND_MS), -AMP_ENODEV);
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_CRASHED);
    uint64_t us = now_us() - t0;
    print_message("    crash seen as CRASHED after %.3f ms\n", (double)us / 1000.0);
    assert_true(us < CRASH_BOUND_MS * 1000u);
    assert_true(process_gone(pid));
    assert_int_equal(amp_sim_core_pid(fx->board), -1);
    assert_false(amp_rpmsg_ept_is_ready(&fx->ept));
    /* Board memory outlives the core: its last words are readable. */
    char trace[128];
    fx_trace(fx, trace, sizeof trace);
    assert_string_equal(trace, "fault: up\nfault: crashing\n");
    /* Why, in words a developer can act on. */
    char why[SIM_REASON_LEN];
    assert_true(amp_sim_crash_reason(fx->board, why, sizeof why) > 0);
    print_message("    reason: %s\n", why);
    if (on_cm4) {
        assert_non_null(strstr(why, "write to 0x40021000 (no memory or peripheral modelled there)"));
        assert_non_null(strstr(why, "at pc 0x081"));
        assert_non_null(strstr(why, ", sp 0x1000"));
        assert_non_null(strstr(why, "xPSR 0x"));
    } else {
        assert_non_null(strstr(why, "killed by signal 11 (SIGSEGV)"));
    }

    /* It boots again, and a clean exit counts as a crash too. Watch it the
     * way an event loop would: the notify fd, then the state. */
    fx_start_bound(fx);
    fx_echo_text(fx, "back again");
    t0 = now_us();
    assert_int_equal(amp_rpmsg_send(&fx->ept, "exit", 4, SERVE_TIMEOUT_MS), 4);
    int fd = amp_sim_notify_fd(fx->board);
    assert_true(fd >= 0);
    enum amp_rproc_state st;
    while ((st = amp_rproc_state(fx->rp)) == AMP_RPROC_RUNNING) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int64_t left = CRASH_BOUND_MS - (int64_t)((now_us() - t0) / 1000u);
        assert_true(left > 0);
        assert_true(poll(&pfd, 1, (int)left) >= 0);
        amp_sim_ack(fx->board);
    }
    us = now_us() - t0;
    print_message("    exit seen as CRASHED after %.3f ms (notify fd)\n", (double)us / 1000.0);
    assert_int_equal(st, AMP_RPROC_CRASHED);
    assert_true(amp_sim_crash_reason(fx->board, why, sizeof why) > 0);
    assert_non_null(strstr(why, on_cm4 ? "bkpt #1 at pc 0x081" : "exited with status 3"));
    /* With the core gone and acknowledged (a doorbell it rang just before
     * dying may still be pending), the notify fd is quiet. */
    amp_sim_ack(fx->board);
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 0), 0);

    fx_start_bound(fx);
    fx_echo_text(fx, "third life");
    /* A core stuck in a loop is still stopped at once. */
    pid = amp_sim_core_pid(fx->board);
    assert_int_equal(amp_rpmsg_send(&fx->ept, "hang", 4, SERVE_TIMEOUT_MS), 4);
    assert_int_equal(amp_rproc_stop(fx->rp), 0);
    assert_true(process_gone(pid));
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_STOPPED);
    assert_int_equal(amp_sim_crash_reason(fx->board, why, sizeof why), 0);  /* stopped */
    assert_string_equal(why, "");
    fx_free(fx);
}

static void kill_mid_traffic(enum amp_sim_wait_mode mode, const char *tag)
{
    struct fixture *fx = fx_new(tag, mode);
    fx_ept(fx, "vuart-channel");
    fx_load(fx, "virtual_uart.elf");
    fx_start_bound(fx);
    fx_echo_text(fx, "before the kill");

    /* A burst in flight, then the core dies under it. */
    for (int i = 0; i < 40; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "burst %d", i);
        assert_int_equal(amp_rpmsg_send(&fx->ept, msg, (size_t)n, SERVE_TIMEOUT_MS), n);
    }
    pid_t pid = amp_sim_core_pid(fx->board);
    assert_true(pid > 0);
    uint64_t t0 = now_us();
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(wait_for_death(fx, CRASH_BOUND_MS), -AMP_ENODEV);
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_CRASHED);
    uint64_t us = now_us() - t0;
    print_message("    %s: killed core seen as CRASHED after %.3f ms\n", tag, (double)us / 1000.0);
    assert_true(us < CRASH_BOUND_MS * 1000u);
    assert_true(process_gone(pid));
    /* Sending now fails at once instead of hanging. */
    t0 = now_us();
    assert_true(amp_rpmsg_send(&fx->ept, "anyone?", 7, SERVE_TIMEOUT_MS) < 0);
    assert_true(now_us() - t0 < CRASH_BOUND_MS * 1000u);
    int rc = fx->p->ops->wait(fx->p->ctx, SERVE_TIMEOUT_MS);
    assert_int_equal(rc, -AMP_ENODEV);

    /* And the board recovers. */
    fx_start_bound(fx);
    fx_echo_text(fx, "after the kill");
    fx_free(fx);
}

static void test_kill_mid_traffic(void **state)
{
    (void)state;
    kill_mid_traffic(AMP_SIM_WAIT_BLOCKING, "kill-blocking");
}

static void test_polled_and_adaptive_modes(void **state)
{
    (void)state;
    kill_mid_traffic(AMP_SIM_WAIT_POLLED, "kill-polled");
    kill_mid_traffic(AMP_SIM_WAIT_ADAPTIVE, "kill-adaptive");
}

struct waiter {
    const struct amp_platform *p;
    int rc;
    uint64_t woke_us;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    do
        w->rc = w->p->ops->wait(w->p->ctx, 10 * CRASH_BOUND_MS);
    while (w->rc == 0);  /* doorbells are fine; we wait for the death */
    w->woke_us = now_us();
    return NULL;
}

static void test_blocked_waiter_wakes_on_death(void **state)
{
    (void)state;
    struct fixture *fx = fx_new("waiter", AMP_SIM_WAIT_BLOCKING);
    fx_ept(fx, "vuart-channel");
    fx_load(fx, "virtual_uart.elf");
    fx_start_bound(fx);
    pid_t pid = amp_sim_core_pid(fx->board);

    struct waiter w = { .p = fx->p };
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, waiter_main, &w), 0);
    uint64_t t0 = now_us();
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(w.rc, -AMP_ENODEV);
    uint64_t us = w.woke_us - t0;
    print_message("    blocked waiter woke %.3f ms after the kill\n", (double)us / 1000.0);
    assert_true(us < CRASH_BOUND_MS * 1000u);
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_CRASHED);
    fx_free(fx);
}

static void test_trace_buffer(void **state)
{
    (void)state;
    struct fixture *fx = fx_new("trace", AMP_SIM_WAIT_BLOCKING);
    char buf[256];
    fx_trace(fx, buf, sizeof buf);
    assert_string_equal(buf, "");  /* nothing has run */

    fx_ept(fx, "vuart-channel");
    fx_load(fx, "virtual_uart.elf");
    fx_start_bound(fx);
    fx_trace(fx, buf, sizeof buf);
    assert_string_equal(buf, "virtual_uart: up\n");
    /* A short buffer gets a NUL-terminated prefix. */
    char small[5];
    assert_int_equal(amp_sim_read_trace(fx->board, small, sizeof small), 4);
    assert_string_equal(small, "virt");
    assert_int_equal(amp_sim_read_trace(fx->board, small, 1), 0);
    assert_string_equal(small, "");
    assert_int_equal(amp_sim_read_trace(fx->board, NULL, 10), -AMP_EINVAL);
    assert_int_equal(amp_sim_read_trace(fx->board, small, 0), -AMP_EINVAL);
    assert_int_equal(amp_sim_read_trace(NULL, small, sizeof small), -AMP_EINVAL);

    /* The buffer is bounded by its table entry even when the firmware fills
     * it without a terminator. */
    char *raw = amp_mem_da_to_va(amp_sim_mem_map(fx->board), 0x38000380u, 128);
    assert_non_null(raw);
    assert_int_equal(amp_rproc_stop(fx->rp), 0);
    memset(raw, 'A', 128);
    fx_trace(fx, buf, sizeof buf);
    assert_int_equal(strlen(buf), 128);
    fx_free(fx);
}

/* ---- Bad inputs: small ELF files written here ---- */

struct seg_spec {
    uint64_t paddr;
    uint32_t filesz, memsz;
};

struct elf_spec {
    const struct seg_spec *segs;
    unsigned nsegs;
    uint64_t entry;
    const void *rsc;       /* bytes of a .resource_table at the start of segment rsc_seg */
    size_t rsc_len;
    unsigned rsc_seg;
};

#define IMG_MAX 8192

/* A little-endian x86-64 ET_EXEC image; returns its size. */
static size_t build_elf(uint8_t *img, const struct elf_spec *s)
{
    memset(img, 0, IMG_MAX);
    Elf64_Ehdr eh = { 0 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_entry = s->entry;
    eh.e_phoff = sizeof eh;
    eh.e_ehsize = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = (Elf64_Half)s->nsegs;

    size_t off = 0x200;
    uint64_t rsc_off = 0;
    for (unsigned i = 0; i < s->nsegs; i++) {
        Elf64_Phdr ph = { 0 };
        ph.p_type = PT_LOAD;
        ph.p_flags = PF_R | PF_W | PF_X;
        ph.p_offset = off;
        ph.p_vaddr = ph.p_paddr = s->segs[i].paddr;
        ph.p_filesz = s->segs[i].filesz;
        ph.p_memsz = s->segs[i].memsz;
        ph.p_align = 16;
        memcpy(img + sizeof eh + i * sizeof ph, &ph, sizeof ph);
        memset(img + off, 0xCC, s->segs[i].filesz);  /* int3 */
        if (s->rsc && i == s->rsc_seg) {
            memcpy(img + off, s->rsc, s->rsc_len);
            rsc_off = off;
        }
        off = (off + s->segs[i].filesz + 15) & ~(size_t)15;
        assert_true(off < IMG_MAX / 2);
    }
    if (s->rsc) {
        static const char names[] = "\0.resource_table\0.shstrtab";
        size_t str_off = off;
        memcpy(img + str_off, names, sizeof names);
        off = (str_off + sizeof names + 7) & ~(size_t)7;
        Elf64_Shdr sh[3] = { { 0 } };
        sh[1].sh_name = 1;
        sh[1].sh_type = SHT_PROGBITS;
        sh[1].sh_flags = SHF_ALLOC | SHF_WRITE;
        sh[1].sh_addr = s->segs[s->rsc_seg].paddr;
        sh[1].sh_offset = rsc_off;
        sh[1].sh_size = s->rsc_len;
        sh[2].sh_name = 17;
        sh[2].sh_type = SHT_STRTAB;
        sh[2].sh_offset = str_off;
        sh[2].sh_size = sizeof names;
        eh.e_shoff = off;
        eh.e_shentsize = sizeof(Elf64_Shdr);
        eh.e_shnum = 3;
        eh.e_shstrndx = 2;
        memcpy(img + off, sh, sizeof sh);
        off += sizeof sh;
    }
    memcpy(img, &eh, sizeof eh);
    assert_true(off <= IMG_MAX);
    return off;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static const struct seg_spec code_seg = { AMP_SIM_FLASH_DA, 16, 16 };

static void expect_load_error(struct fixture *fx, const char *path, const char *const expect[3],
                              const uint8_t *flash_before, const uint8_t *sram_before)
{
    char err[512] = "unset";
    int rc = amp_sim_load_file(fx->board, path, err, sizeof err);
    print_message("    %s\n", err);
    assert_true(rc < 0);
    assert_non_null(strstr(err, path));
    for (int i = 0; i < 3 && expect[i]; i++) {
        if (!strstr(err, expect[i]))
            print_error("message lacks \"%s\"\n", expect[i]);
        assert_non_null(strstr(err, expect[i]));
    }
    /* Clean state: the good image loaded before is untouched and still current. */
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_LOADED);
    assert_entry(fx->rp);
    const struct amp_mem_map *map = amp_sim_mem_map(fx->board);
    assert_memory_equal(amp_mem_da_to_va(map, AMP_SIM_FLASH_DA, AMP_SIM_FLASH_SIZE),
                        flash_before, AMP_SIM_FLASH_SIZE);
    assert_memory_equal(amp_mem_da_to_va(map, AMP_SIM_SRAM_DA, AMP_SIM_SRAM_SIZE), sram_before,
                        AMP_SIM_SRAM_SIZE);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char dir[] = "/tmp/amp-test-sim-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct fixture *fx = fx_new("bad", AMP_SIM_WAIT_BLOCKING);
    uint8_t *img = calloc(1, IMG_MAX);
    assert_non_null(img);
    char path[PATH_MAX];

    /* The builder itself makes loadable files: the cases below fail for one reason. */
    struct elf_spec good = { &code_seg, 1, AMP_SIM_FLASH_DA, NULL, 0, 0 };
    size_t n = build_elf(img, &good);
    snprintf(path, sizeof path, "%s/good.elf", dir);
    write_file(path, img, n);
    char err[512];
    assert_int_equal(amp_sim_load_file(fx->board, path, err, sizeof err), 0);
    uint32_t rsc_ok[] = { 1, 1, 0, 0, 20, AMP_RSC_TRACE, 0x38000380u, 128, 0, 0, 0, 0, 0,
                          0, 0, 0, 0 };
    const struct seg_spec two[] = { code_seg, { AMP_SIM_SRAM_DA, 128, 128 } };
    struct elf_spec with_rsc = { two, 2, AMP_SIM_FLASH_DA, rsc_ok, sizeof rsc_ok, 1 };
    n = build_elf(img, &with_rsc);
    write_file(path, img, n);
    int rc = amp_sim_load_file(fx->board, path, err, sizeof err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    assert_true(fx->rp->has_rsc);

    /* Now the real firmware, which every failed load below must leave alone. */
    fx_ept(fx, "vuart-channel");
    fx_load(fx, "virtual_uart.elf");
    const struct amp_mem_map *map = amp_sim_mem_map(fx->board);
    uint8_t *flash = malloc(AMP_SIM_FLASH_SIZE), *sram = malloc(AMP_SIM_SRAM_SIZE);
    assert_non_null(flash);
    assert_non_null(sram);
    memcpy(flash, amp_mem_da_to_va(map, AMP_SIM_FLASH_DA, AMP_SIM_FLASH_SIZE),
           AMP_SIM_FLASH_SIZE);
    memcpy(sram, amp_mem_da_to_va(map, AMP_SIM_SRAM_DA, AMP_SIM_SRAM_SIZE), AMP_SIM_SRAM_SIZE);

    /* Missing file, directory, empty file. */
    snprintf(path, sizeof path, "%s/missing.elf", dir);
    expect_load_error(fx, path, (const char *const[3]){ "no such file" }, flash, sram);
    expect_load_error(fx, dir, (const char *const[3]){ "is a directory" }, flash, sram);
    snprintf(path, sizeof path, "%s/empty.elf", dir);
    write_file(path, "", 0);
    expect_load_error(fx, path, (const char *const[3]){ "empty" }, flash, sram);

    static const struct {
        const char *file;
        enum amp_elf_problem problem;
    } header_cases[] = {
        { "truncated.elf", AMP_ELF_TRUNCATED },
        { "class.elf", AMP_ELF_BAD_CLASS },
        { "endian.elf", AMP_ELF_BAD_ENDIAN },
        { "machine.elf", AMP_ELF_BAD_MACHINE },
        { "phdrs.elf", AMP_ELF_BAD_PHDRS },
        { "text.elf", AMP_ELF_BAD_MAGIC },
    };
    for (size_t i = 0; i < sizeof header_cases / sizeof header_cases[0]; i++) {
        n = build_elf(img, &good);
        Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
        switch (header_cases[i].problem) {
        case AMP_ELF_TRUNCATED:
            n = 40;  /* magic and ident intact, header cut short */
            break;
        case AMP_ELF_BAD_CLASS:
            img[EI_CLASS] = 3;
            break;
        case AMP_ELF_BAD_ENDIAN:
            img[EI_DATA] = ELFDATA2MSB;
            break;
        case AMP_ELF_BAD_MACHINE:
            eh->e_machine = EM_ARM;
            break;
        case AMP_ELF_BAD_PHDRS:
            eh->e_phoff = n - 8;  /* the table runs past the end of the file */
            break;
        default:
            memcpy(img, "just some text\n", 15);
            n = 15;
            break;
        }
        snprintf(path, sizeof path, "%s/%s", dir, header_cases[i].file);
        write_file(path, img, n);
        expect_load_error(fx, path,
                          (const char *const[3]){ amp_elf_problem_str(header_cases[i].problem) },
                          flash, sram);
    }

    /* Segments outside the memory map: past every region, and across flash's end. */
    const struct seg_spec outside[] = { code_seg, { 0x20000000u, 16, 16 } };
    struct elf_spec spec = { outside, 2, AMP_SIM_FLASH_DA, NULL, 0, 0 };
    n = build_elf(img, &spec);
    snprintf(path, sizeof path, "%s/outside.elf", dir);
    write_file(path, img, n);
    expect_load_error(fx, path,
                      (const char *const[3]){ amp_elf_problem_str(AMP_ELF_SEG_OUTSIDE_MAP),
                                              "segment 1", "0x20000000" },
                      flash, sram);
    const struct seg_spec straddle[] = { code_seg, { 0x081FFFF0u, 16, 32 } };
    spec = (struct elf_spec){ straddle, 2, AMP_SIM_FLASH_DA, NULL, 0, 0 };
    n = build_elf(img, &spec);
    snprintf(path, sizeof path, "%s/straddle.elf", dir);
    write_file(path, img, n);
    expect_load_error(fx, path,
                      (const char *const[3]){ amp_elf_problem_str(AMP_ELF_SEG_OUTSIDE_MAP),
                                              "segment 1", "0x81ffff0" },
                      flash, sram);

    /* Overlapping segments. */
    const struct seg_spec overlap[] = { { AMP_SIM_FLASH_DA, 16, 0x100 },
                                        { AMP_SIM_FLASH_DA + 0x80, 16, 16 } };
    spec = (struct elf_spec){ overlap, 2, AMP_SIM_FLASH_DA, NULL, 0, 0 };
    n = build_elf(img, &spec);
    snprintf(path, sizeof path, "%s/overlap.elf", dir);
    write_file(path, img, n);
    expect_load_error(fx, path,
                      (const char *const[3]){ amp_elf_problem_str(AMP_ELF_SEG_OVERLAP),
                                              "segment 1", "0x8100080" },
                      flash, sram);

    /* A resource table whose entry offset points past its end. */
    uint32_t rsc_bad[] = { 1, 1, 0, 0, 0x1000 };
    spec = (struct elf_spec){ two, 2, AMP_SIM_FLASH_DA, rsc_bad, sizeof rsc_bad, 1 };
    n = build_elf(img, &spec);
    snprintf(path, sizeof path, "%s/rsc.elf", dir);
    write_file(path, img, n);
    expect_load_error(fx, path,
                      (const char *const[3]){ amp_elf_problem_str(AMP_ELF_BAD_RSC_TABLE),
                                              "0x10000000" },
                      flash, sram);

    /* Loading over a running core is refused, clearly. */
    fx_start_bound(fx);
    snprintf(path, sizeof path, "%s/good.elf", dir);
    rc = amp_sim_load_file(fx->board, path, err, sizeof err);
    print_message("    %s\n", err);
    assert_int_equal(rc, -AMP_EBUSY);
    assert_non_null(strstr(err, "running"));
    /* After all that, the firmware still works. */
    fx_echo_text(fx, "unharmed");

    free(flash);
    free(sram);
    free(img);
    fx_free(fx);
    /* Tidy the temp dir. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        assert_int_equal(unlink(p), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- Board set-up errors and options ---- */

static void test_open_errors(void **state)
{
    (void)state;
    struct amp_sim_board *b = (struct amp_sim_board *)1;
    char err[256];
    struct amp_sim_options opt = { .name = "../escape" };
    assert_int_equal(amp_sim_open(&b, &opt, err, sizeof err), -AMP_EINVAL);
    assert_null(b);
    assert_non_null(strstr(err, "invalid"));
    opt.name = "";
    assert_int_equal(amp_sim_open(&b, &opt, err, sizeof err), -AMP_EINVAL);

    char name[64];
    board_name(name, sizeof name, "err");
    opt.name = name;
    opt.simcore_path = "/nonexistent/amp-simcore";
    assert_int_equal(amp_sim_open(&b, &opt, err, sizeof err), -AMP_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/amp-simcore"));
    assert_false(shm_exists(name));

    /* One host per board. */
    struct fixture *fx = fx_new("busy", AMP_SIM_WAIT_BLOCKING);
    opt = (struct amp_sim_options){ .name = fx->name };
    assert_int_equal(amp_sim_open(&b, &opt, err, sizeof err), -AMP_EBUSY);
    assert_non_null(strstr(err, "in use"));
    fx_free(fx);

    /* Life-cycle misuse. */
    fx = fx_new("misuse", AMP_SIM_WAIT_BLOCKING);
    assert_int_not_equal(amp_rproc_start(fx->rp), 0);        /* nothing loaded */
    assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_OFFLINE);
    assert_int_equal(amp_sim_core_pid(fx->board), -1);
    assert_int_not_equal(amp_rproc_set_entry(fx->rp, 0x20000000u), 0);
    assert_int_not_equal(amp_rproc_set_entry(fx->rp, AMP_SIM_SHARED_DA), 0); /* not EXEC */
    assert_int_equal(amp_rproc_stop(fx->rp), 0);             /* harmless when not running */
    /* With no core, a wait says so at once instead of sleeping. */
    assert_int_equal(fx->p->ops->wait(fx->p->ctx, SERVE_TIMEOUT_MS), -AMP_ENODEV);
    fx_free(fx);

    amp_sim_close(NULL);
    assert_int_equal(amp_sim_rpmsg(NULL, NULL), -AMP_EINVAL);
    assert_int_equal(amp_sim_notify_fd(NULL), -1);
}

static void test_simcore_lookup_and_exec_failure(void **state)
{
    (void)state;
    char found[PATH_MAX];
    assert_int_equal(amp_sim_find_simcore(found, sizeof found), 0);
    assert_non_null(strstr(found, "amp-simcore"));
    assert_int_equal(access(found, X_OK), 0);
    char tiny[4];
    assert_true(amp_sim_find_simcore(tiny, sizeof tiny) < 0);

    const char *old = getenv("AMP_SIMCORE");
    char *saved = old ? strdup(old) : NULL;
    assert_int_equal(setenv("AMP_SIMCORE", "/nonexistent/amp-simcore", 1), 0);
    assert_int_equal(amp_sim_find_simcore(found, sizeof found), -AMP_ENOENT);
    char again[PATH_MAX];
    assert_int_equal(unsetenv("AMP_SIMCORE"), 0);
    assert_int_equal(amp_sim_find_simcore(again, sizeof again), 0);
    assert_int_equal(setenv("AMP_SIMCORE", again, 1), 0);
    assert_int_equal(amp_sim_find_simcore(found, sizeof found), 0);
    assert_string_equal(found, again);
    if (saved)
        assert_int_equal(setenv("AMP_SIMCORE", saved, 1), 0);
    else
        assert_int_equal(unsetenv("AMP_SIMCORE"), 0);
    free(saved);

    /* A helper that cannot be executed: start fails cleanly, nothing runs. */
    char dir[] = "/tmp/amp-test-simcore-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char bogus[PATH_MAX];
    snprintf(bogus, sizeof bogus, "%s/amp-simcore", dir);
    write_file(bogus, "#!/nonexistent/interpreter\n", 27);
    assert_int_equal(chmod(bogus, 0755), 0);
    char name[64], err[256];
    board_name(name, sizeof name, "noexec");
    struct amp_sim_options opt = { .name = name, .simcore_path = bogus,
                                   .remove_flash_on_close = true };
    struct amp_sim_board *b;
    assert_int_equal(amp_sim_open(&b, &opt, err, sizeof err), 0);
    struct amp_rproc *rp = amp_sim_rproc(b);
    char fw[PATH_MAX];
    fw_path(fw, sizeof fw, "virtual_uart.elf");
    assert_int_equal(amp_sim_load_file(b, fw, err, sizeof err), 0);
    assert_int_equal(amp_rproc_start(rp), -AMP_ENOENT);
    assert_int_equal(amp_rproc_state(rp), AMP_RPROC_LOADED);
    assert_int_equal(amp_sim_core_pid(b), -1);
    amp_sim_close(b);
    assert_int_equal(unlink(bogus), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_cpu_pinning(void **state)
{
    (void)state;
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    /* Pick a CPU we may use ourselves (CI may restrict the set). */
    cpu_set_t mine;
    assert_int_equal(sched_getaffinity(0, sizeof mine, &mine), 0);
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &mine))
        cpu++;
    assert_true(cpu < CPU_SETSIZE);
    char name[64], want[16];
    board_name(name, sizeof name, "pin");
    fx_open_opts(fx, name, AMP_SIM_WAIT_BLOCKING, true, cpu);
    fx_ept(fx, "vuart-channel");
    fx_load(fx, "virtual_uart.elf");
    fx_start_bound(fx);
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", amp_sim_core_pid(fx->board));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool seen = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
            snprintf(want, sizeof want, "%d\n", cpu);
            assert_string_equal(line + 18 + strspn(line + 18, " \t"), want);
            seen = true;
        }
    }
    fclose(f);
    assert_true(seen);
    fx_echo_text(fx, "pinned");
    fx_free(fx);
}

/* ---- Leaks: run last ---- */

static void test_nothing_leaked(void **state)
{
    (void)state;
    /* No child of ours left, running or zombie. */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    DIR *proc = opendir("/proc");
    assert_non_null(proc);
    struct dirent *e;
    while ((e = readdir(proc))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;  /* gone meanwhile */
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *close_paren = strrchr(buf, ')');
        if (!close_paren)
            continue;
        char st;
        int ppid;
        if (sscanf(close_paren + 1, " %c %d", &st, &ppid) == 2 && ppid == getpid()) {
            print_error("leaked child process: %s\n", buf);
            fail();
        }
    }
    closedir(proc);

    /* No shared-memory file of ours. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "amp-tsim%d-", (int)getpid());
    DIR *shm = opendir("/dev/shm");
    assert_non_null(shm);
    while ((e = readdir(shm))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            print_error("leaked /dev/shm/%s\n", e->d_name);
            fail();
        }
    }
    closedir(shm);
}

/* ---- The emulated Cortex-M4 only ---- */

/* [start, end) of function `name` in an ELF32 file's symbol table. */
static bool elf32_symbol(const char *path, const char *name, uint32_t *start, uint32_t *end)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t img[8 << 20];
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);
    assert_true(n > sizeof(Elf32_Ehdr) && n < sizeof img);
    Elf32_Ehdr eh;
    memcpy(&eh, img, sizeof eh);
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf32_Shdr sh, strh;
        memcpy(&sh, img + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_SYMTAB)
            continue;
        memcpy(&strh, img + eh.e_shoff + sh.sh_link * sizeof strh, sizeof strh);
        for (size_t k = 0; k < sh.sh_size / sizeof(Elf32_Sym); k++) {
            Elf32_Sym sym;
            memcpy(&sym, img + sh.sh_offset + k * sizeof sym, sizeof sym);
            /* GCC may rename a local it specialised: recurse.isra.0 */
            const char *sn = (const char *)img + strh.sh_offset + sym.st_name;
            size_t len = strlen(name);
            if (strncmp(sn, name, len) == 0 && (sn[len] == '\0' || sn[len] == '.')) {
                *start = sym.st_value & ~1u;
                *end = *start + sym.st_size;
                return true;
            }
        }
    }
    return false;
}

/* The first halfword of the instruction at address `da` of an ELF32 image. */
static uint16_t elf32_half_at(const char *path, uint32_t da)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    Elf32_Ehdr eh;
    assert_int_equal(fread(&eh, sizeof eh, 1, f), 1);
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr ph;
        assert_int_equal(fseek(f, (long)(eh.e_phoff + i * sizeof ph), SEEK_SET), 0);
        assert_int_equal(fread(&ph, sizeof ph, 1, f), 1);
        if (ph.p_type != PT_LOAD || da < ph.p_vaddr || da + 2 > ph.p_vaddr + ph.p_filesz)
            continue;
        uint8_t b[2];
        assert_int_equal(fseek(f, (long)(ph.p_offset + da - ph.p_vaddr), SEEK_SET), 0);
        assert_int_equal(fread(b, 1, 2, f), 2);
        fclose(f);
        return (uint16_t)(b[0] | b[1] << 8);
    }
    fclose(f);
    fail_msg("0x%08x is not in a loaded segment of %s", da, path);
    return 0;
}

/* A Thumb store (ARMv7-M A5.2, A5.3): STR/STRB/STRH, PUSH, STM, STRD. */
static bool is_thumb_store(uint16_t h)
{
    return ((h & 0xF800) == 0x5000 && ((h >> 9) & 7) <= 2) || (h & 0xF800) == 0x6000 ||
           (h & 0xF800) == 0x7000 || (h & 0xF800) == 0x8000 || (h & 0xF800) == 0x9000 ||
           (h & 0xFE00) == 0xB400 || (h & 0xF800) == 0xC000 ||
           (h & 0xFF10) == 0xF800 || (h & 0xFE10) == 0xE800;
}

/* The pc (or pc range of the block) a crash reason names lies in `fn`. */
static void assert_pc_in(const char *why, const char *path, const char *fn)
{
    uint32_t s0, s1;
    assert_true(elf32_symbol(path, fn, &s0, &s1));
    const char *at = strstr(why, "at pc 0x");
    assert_non_null(at);
    char *end;
    uint32_t lo = (uint32_t)strtoul(at + 8, &end, 16), hi = lo;
    if (strncmp(end, "..0x", 4) == 0)
        hi = (uint32_t)strtoul(end + 4, NULL, 16);
    if (!(lo < s1 && hi >= s0))
        print_error("pc 0x%08x..0x%08x is not in %s [0x%08x, 0x%08x)\n", lo, hi, fn, s0, s1);
    assert_true(lo < s1 && hi >= s0);
}

/*
 * A memory fault names the store that made it, not just its block: exact
 * on unicorn 2.0.x, Debian's (uc_boundary.c).
 */
static void assert_pc_is_store(const char *why, const char *path)
{
    const char *at = strstr(why, "at pc 0x");
    assert_non_null(at);
    char *end;
    uint32_t pc = (uint32_t)strtoul(at + 8, &end, 16);
    assert_true(*end == ' ');     /* one address, no "..0x" range */
    uint16_t insn = elf32_half_at(path, pc);
    if (!is_thumb_store(insn))
        print_error("the instruction at pc 0x%08x (0x%04x) is not a store\n", pc, insn);
    assert_true(is_thumb_store(insn));
}

static void test_cm4_faults_name_pc(void **state)
{
    (void)state;
    static const struct {
        const char *cmd, *expect, *fn;
        bool store;
    } cases[] = {
        { "crash", "write to 0x40021000 (no memory or peripheral modelled there)", "serve", true },
        { "undef", "undefined instruction 0xdeff at pc 0x", "serve", false },
        { "bkpt", "bkpt #66 at pc 0x", "serve", false },
        { "overflow", "just below SRAM (stack overflow?)", "recurse", true },
    };
    char path[PATH_MAX];
    fw_path(path, sizeof path, "fault.elf");
    struct fixture *fx = fx_new("faults", AMP_SIM_WAIT_BLOCKING);
    fx_ept(fx, "vuart-channel");
    fx_load(fx, "fault.elf");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx_start_bound(fx);
        fx_echo_text(fx, "alive");
        assert_int_equal(amp_rpmsg_send(&fx->ept, cases[i].cmd, strlen(cases[i].cmd),
                                        SERVE_TIMEOUT_MS), (int)strlen(cases[i].cmd));
        assert_int_equal(wait_for_death(fx, CRASH_BOUND_MS), -AMP_ENODEV);
        assert_int_equal(amp_rproc_state(fx->rp), AMP_RPROC_CRASHED);
        char why[SIM_REASON_LEN];
        assert_true(amp_sim_crash_reason(fx->board, why, sizeof why) > 0);
        print_message("    %s: %s\n", cases[i].cmd, why);
        assert_non_null(strstr(why, cases[i].expect));
        assert_non_null(strstr(why, "lr 0x"));
        assert_non_null(strstr(why, "sp 0x"));
        assert_non_null(strstr(why, "xPSR 0x"));
        assert_pc_in(why, path, cases[i].fn);
        if (cases[i].store)
            assert_pc_is_store(why, path);
    }
    fx_free(fx);
}

#define SLEEPER_PROBE_DA 0x10047F00u
#define SLEEPER_MAGIC 0x51EE9u

static bool wait_word(volatile uint32_t *w, uint32_t at_least, int32_t timeout_ms)
{
    uint64_t t0 = now_us();
    while (*w < at_least)
        if (now_us() - t0 > (uint64_t)timeout_ms * 1000u)
            return false;
        else
            usleep(200);
    return true;
}

/* Load and start one of build/tests/c-firmware/. */
static void start_test_fw(struct fixture *fx, const char *name)
{
    char path[PATH_MAX + 64], err[256];
    snprintf(path, sizeof path, "%s/../tests/c-firmware/%s", fw_dir, name);
    int rc = amp_sim_load_file(fx->board, path, err, sizeof err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(amp_rproc_start(fx->rp), 0);
}

/* Boot one of build/tests/c-firmware/ and return its probe words. */
static volatile uint32_t *boot_test_fw(struct fixture *fx, const char *name, uint32_t magic)
{
    start_test_fw(fx, name);
    volatile uint32_t *probe =
        amp_mem_da_to_va(amp_sim_mem_map(fx->board), SLEEPER_PROBE_DA, 256);
    assert_non_null(probe);
    assert_true(wait_word(&probe[0], magic, SERVE_TIMEOUT_MS));
    assert_int_equal(probe[0], magic);
    return probe;
}

static void test_cm4_wfi_wakes_per_doorbell_and_tick(void **state)
{
    (void)state;
    struct fixture *fx = fx_new("wfi", AMP_SIM_WAIT_BLOCKING);
    volatile uint32_t *probe = boot_test_fw(fx, "sleeper.elf", SLEEPER_MAGIC);
    /* Ticks wake it: the tick count and the wake-ups climb together. */
    assert_true(wait_word(&probe[2], 3, SERVE_TIMEOUT_MS));
    /* (b0 may count a doorbell the host rang at start, before the firmware
     * enabled the interrupt: it stays pending in C2ISR, as on the chip.) */
    uint32_t w0 = probe[1], t0 = probe[2], b0 = probe[3];
    /* Each doorbell wakes it once more and is seen. */
    for (uint32_t i = 1; i <= 10; i++) {
        fx->p->ops->notify(fx->p->ctx, 0);
        assert_true(wait_word(&probe[3], b0 + i, SERVE_TIMEOUT_MS));
        assert_int_equal(probe[3], b0 + i);
    }
    assert_true(wait_word(&probe[2], t0 + 10, SERVE_TIMEOUT_MS));
    uint32_t w1 = probe[1], t1 = probe[2], b1 = probe[3];
    print_message("    %u wake-ups for %u ticks and %u doorbells\n", w1 - w0, t1 - t0, b1 - b0);
    assert_int_equal(b1 - b0, 10);
    /* One wake per interrupt: a tick and a doorbell may share one. */
    assert_true(w1 - w0 + 2 >= t1 - t0);
    assert_true(w1 - w0 <= t1 - t0 + (b1 - b0) + 2);
    assert_int_equal(amp_rproc_stop(fx->rp), 0);
    fx_free(fx);
}

/* SysTick and ICSR as the ARMv7-M ARM has them, checked by the firmware. */
static void test_cm4_systick_semantics(void **state)
{
    (void)state;
    static const char *const what[] = {
        "an RVR write leaves the count alone",
        "a disabled counter holds its value",
        "enabled again, it counts on from CVR",
        "ICSR.PENDSTSET is set as soon as CVR has wrapped",
        "a CVR write clears COUNTFLAG, not the pending exception",
        "ICSR.PENDSTCLR clears it",
    };
    struct fixture *fx = fx_new("systick", AMP_SIM_WAIT_BLOCKING);
    volatile uint32_t *probe = boot_test_fw(fx, "systick_check.elf", 0x5157C4Bu);
    unsigned n = sizeof what / sizeof what[0];
    bool ok = true;
    for (unsigned i = 0; i < n; i++) {
        print_message("    %s: %s (0x%x)\n", what[i], probe[1 + i] == 1 ? "yes" : "NO",
                      probe[1 + n + i]);
        ok = ok && probe[1 + i] == 1;
    }
    assert_true(ok);
    assert_int_equal(amp_rproc_stop(fx->rp), 0);
    fx_free(fx);
}

/*
 * The SDK's tickless idle (napper.elf): timed waits end on time although
 * SysTick runs long periods, and across long sleeps the SDK's clock stays
 * the host's. Bounds a broken implementation exceeds: a wait that only
 * ends at the next 2^24-clock wrap (262 ms at 64 MHz) is 86-257 ms late; a
 * clock that misses the counter's position loses up to a period.
 */
#define NAPPER_MAGIC 0x4A9933u
#define NAP_LATE_US 60000u
#define NAP_MARGIN_US 2000

static void test_cm4_tickless_idle_keeps_time(void **state)
{
    (void)state;
    static const uint32_t timeouts_ms[] = { 30, 150, 700, 5, 400 };
    static const uint32_t gaps_ms[] = { 90, 410, 170, 330, 610, 120, 260, 50 };
    const unsigned nt = sizeof timeouts_ms / sizeof timeouts_ms[0];
    struct fixture *fx = fx_new("nap", AMP_SIM_WAIT_BLOCKING);
    volatile uint32_t *probe = boot_test_fw(fx, "napper.elf", NAPPER_MAGIC);

    /* Timed waits, nobody rings: each times out, never early, not late. */
    for (unsigned i = 0; i < nt; i++) {
        assert_true(wait_word(&probe[1], i + 1, SERVE_TIMEOUT_MS + (int32_t)timeouts_ms[i]));
        volatile uint32_t *r = &probe[4 + 4 * i];
        print_message("    wait(%u ms): rc %d after %u us\n", timeouts_ms[i], (int)r[0], r[1]);
        assert_int_equal((int32_t)r[0], -AMP_ETIMEDOUT);
        assert_true(r[1] >= timeouts_ms[i] * 1000u);
        assert_true(r[1] <= timeouts_ms[i] * 1000u + NAP_LATE_US);
    }

    /* Waits without a timeout, ended by doorbells: the SDK's clock at each
     * wake, against ours before the ring and after we saw it, bounds the
     * offset between the clocks; every bound must hold for one offset. */
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    uint32_t ticks0 = probe[4 + 4 * (nt - 1) + 3];
    uint64_t t_start = now_us();
    for (unsigned k = 0; k < sizeof gaps_ms / sizeof gaps_ms[0]; k++) {
        usleep(gaps_ms[k] * 1000u);
        uint64_t before = now_us();
        fx->p->ops->notify(fx->p->ctx, 0);
        assert_true(wait_word(&probe[1], nt + k + 1, SERVE_TIMEOUT_MS));
        uint64_t after = now_us();
        volatile uint32_t *r = &probe[4 + 4 * (nt + k)];
        assert_int_equal(r[0], 0);
        int64_t fw = (int64_t)r[2];
        if (fw - (int64_t)after > lo)
            lo = fw - (int64_t)after;
        if (fw - (int64_t)before < hi)
            hi = fw - (int64_t)before;
        print_message("    woke after %u ms asleep: offset window %lld us wide\n", r[1] / 1000u,
                      (long long)(hi - lo));
        assert_true(lo <= hi + NAP_MARGIN_US);
    }
    /* And it slept tickless: far fewer SysTick interrupts than 100 Hz. */
    uint32_t ms = (uint32_t)((now_us() - t_start) / 1000u);
    uint32_t ticks = probe[4 + 4 * (nt + 7) + 3] - ticks0;
    print_message("    %u SysTick interrupts in %u ms of waiting\n", ticks, ms);
    assert_true(ticks <= ms / 100u + 10u);
    assert_int_equal(amp_rproc_stop(fx->rp), 0);
    fx_free(fx);
}

/* Code copied to SRAM and rewritten between calls runs as written each
 * time: the emulator's fast stores give way to code invalidation. */
static void test_cm4_code_in_ram(void **state)
{
    (void)state;
    struct fixture *fx = fx_new("ramcode", AMP_SIM_WAIT_BLOCKING);
    volatile uint32_t *probe = boot_test_fw(fx, "ramcode.elf", 0x7A3C0DEu);
    print_message("    %u calls ran the code last written, %u stale (last returned %u)\n",
                  probe[1], probe[2], probe[3]);
    assert_int_equal(probe[1], 200);
    assert_int_equal(probe[2], 0);
    assert_int_equal(amp_rproc_stop(fx->rp), 0);
    fx_free(fx);
}

/*
 * Store buffering (dekker.elf): the M4 stores its flag, DMB, loads the
 * host's; the host stores its flag, fences, loads the M4's. If both loads
 * missed the other's store the barrier did not order store before load
 * (x86 lets a load pass a store unless a fence sits between them).
 */
#define DEKKER_DA 0x38008000u
#define DEKKER_ROUNDS 200000u

static void dekker(const char *elf)
{
    struct fixture *fx = fx_new("dekker", AMP_SIM_WAIT_BLOCKING);
    volatile uint32_t *sh = amp_mem_da_to_va(amp_sim_mem_map(fx->board), DEKKER_DA, 32);
    assert_non_null(sh);
    for (int i = 0; i < 8; i++)
        sh[i] = 0;
    start_test_fw(fx, elf);
    uint32_t both_missed = 0, host_missed = 0, m4_missed = 0, seed = 12345;
    for (uint32_t r = 1; r <= DEKKER_ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        unsigned spin = (seed >> 16) % 64u;
        sh[0] = r;
        for (volatile unsigned i = 0; i < spin; i++)
            ;
        sh[2] = r;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        uint32_t x = sh[1];
        uint64_t t0 = now_us();
        while (sh[3] != r)
            if (now_us() - t0 > (uint64_t)SERVE_TIMEOUT_MS * 1000u)
                fail_msg("round %u: the M4 did not answer", r);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        uint32_t y = sh[4];
        host_missed += x < r;
        m4_missed += y < r;
        both_missed += x < r && y < r;
    }
    print_message("    %s, %u rounds: host missed the M4's store %u times, the M4 the host's "
                  "%u, both %u\n", elf, DEKKER_ROUNDS, host_missed, m4_missed, both_missed);
    assert_int_equal(both_missed, 0);
    assert_int_equal(amp_rproc_stop(fx->rp), 0);
    fx_free(fx);
}

/* The barrier in flash, and executed from SRAM. */
static void test_cm4_barriers_order_store_load(void **state)
{
    (void)state;
    dekker("dekker.elf");
    dekker("dekker_ram.elf");
}

static void test_cm4_runs_the_chip_image(void **state)
{
    (void)state;
    /* virtual_uart.bin is what a flasher writes at 0x08100000 on the chip. */
    char bin[PATH_MAX + 32];
    snprintf(bin, sizeof bin, "%s/virtual_uart.bin", fw_dir);
    FILE *f = fopen(bin, "rb");
    assert_non_null(f);
    static uint8_t img[AMP_SIM_FLASH_SIZE];
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);
    assert_true(n > 0x298);  /* at least the vector table */

    struct fixture *fx = fx_new("chipimg", AMP_SIM_WAIT_BLOCKING);
    fx_ept(fx, "vuart-channel");
    fx_load(fx, "virtual_uart.elf");
    fx_start_bound(fx);
    fx_echo_text(fx, "same bytes");
    const uint8_t *flash = amp_mem_da_to_va(amp_sim_mem_map(fx->board), AMP_SIM_FLASH_DA, n);
    assert_non_null(flash);
    assert_memory_equal(flash, img, n);
    /* And the core booted it like the chip: MSP and reset vector from there. */
    uint32_t sp, reset;
    memcpy(&sp, img, 4);
    memcpy(&reset, img + 4, 4);
    assert_int_equal(reset, (uint32_t)fx->rp->entry);
    assert_true(sp > AMP_SIM_SRAM_DA && sp <= AMP_SIM_SRAM_DA + AMP_SIM_SRAM_SIZE);
    fx_free(fx);
}

static int close_fixtures(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_FIXTURES; i++)
        if (open_fixtures[i])
            fx_free(open_fixtures[i]);
    return 0;
}

int main(void)
{
    /* The firmware sits next to this program in the build tree: build/firmware/. */
    if (test_firmware_dir(fw_dir, sizeof fw_dir) != 0) {
        fprintf(stderr, "cannot find the firmware folder next to this program\n");
        return 1;
    }

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_load_start_echo, close_fixtures),
        cmocka_unit_test_teardown(test_stop_start_again, close_fixtures),
        cmocka_unit_test_teardown(test_boot_from_address, close_fixtures),
        cmocka_unit_test_teardown(test_embedded_table, close_fixtures),
        cmocka_unit_test_teardown(test_fault_crash_and_restart, close_fixtures),
        cmocka_unit_test_teardown(test_kill_mid_traffic, close_fixtures),
        cmocka_unit_test_teardown(test_polled_and_adaptive_modes, close_fixtures),
        cmocka_unit_test_teardown(test_blocked_waiter_wakes_on_death, close_fixtures),
        cmocka_unit_test_teardown(test_trace_buffer, close_fixtures),
        cmocka_unit_test_teardown(test_bad_inputs, close_fixtures),
        cmocka_unit_test_teardown(test_open_errors, close_fixtures),
        cmocka_unit_test_teardown(test_simcore_lookup_and_exec_failure, close_fixtures),
        cmocka_unit_test_teardown(test_cpu_pinning, close_fixtures),
        cmocka_unit_test_teardown(test_nothing_leaked, close_fixtures),
    };
    const struct CMUnitTest cm4_tests[] = {
        cmocka_unit_test_teardown(test_cm4_faults_name_pc, close_fixtures),
        cmocka_unit_test_teardown(test_cm4_wfi_wakes_per_doorbell_and_tick, close_fixtures),
        cmocka_unit_test_teardown(test_cm4_systick_semantics, close_fixtures),
        cmocka_unit_test_teardown(test_cm4_tickless_idle_keeps_time, close_fixtures),
        cmocka_unit_test_teardown(test_cm4_code_in_ram, close_fixtures),
        cmocka_unit_test_teardown(test_cm4_barriers_order_store_load, close_fixtures),
        cmocka_unit_test_teardown(test_cm4_runs_the_chip_image, close_fixtures),
        cmocka_unit_test_teardown(test_cm4_boot_from_elf_entry, close_fixtures),
        cmocka_unit_test_teardown(test_nothing_leaked, close_fixtures),
    };
    /* Every test on the emulated Cortex-M4 (the chip's images), then on the
     * native core; the M4's own tests after. */
    on_cm4 = true;
    fw_suffix = "";
    int failed = cmocka_run_group_tests_name("sim-cm4", tests, NULL, NULL);
    on_cm4 = false;
    fw_suffix = "-x86_64";
    failed += cmocka_run_group_tests_name("sim-native", tests, NULL, NULL);
    on_cm4 = true;
    fw_suffix = "";
    failed += cmocka_run_group_tests_name("cm4", cm4_tests, NULL, NULL);
    return failed;
}
