/*
 * The shared layer beneath the openamp modules (bindings/common), driven
 * from C with no interpreter: argument rules and configuration, then real
 * firmware on the simulated board - callbacks delivered from the queue,
 * recv() and the descriptor, back-pressure when a queue is full, late
 * new-service callbacks, binding again after deinit, a crash.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "firmware_dir.h"

#include "../../bindings/common/openamp_core.h"

static char build_dir[PATH_MAX];     /* build/ */
static pthread_t main_id;
static int sched_pipe[2];

/* What the callbacks saw. */
#define MAX_SEEN 64
static struct { void *owner; uint32_t src; char data[64]; } seen[MAX_SEEN];
static int nseen;
static int ndelivered;               /* all messages, past MAX_SEEN too */
static bool thread_order;            /* expect "t0", "t1", ... (send from a thread) */
static int out_of_order;
static char service_name[AMP_RPMSG_NAME_LEN];
static uint32_t service_addr;
static int nservices_heard;

static bool is_main(void)
{
    return pthread_equal(pthread_self(), main_id);
}

static bool schedule(void)
{
    char c = 'd';
    return write(sched_pipe[1], &c, 1) == 1;
}

static int on_message(void *owner, uint32_t src, const void *data, size_t len)
{
    assert_true(is_main());
    if (thread_order) {
        char want[16];
        int n = snprintf(want, sizeof want, "t%d", ndelivered);
        if ((size_t)n != len || memcmp(want, data, len) != 0)
            out_of_order++;
    }
    ndelivered++;
    if (nseen < MAX_SEEN) {
        seen[nseen].owner = owner;
        seen[nseen].src = src;
        snprintf(seen[nseen].data, sizeof seen[nseen].data, "%.*s", (int)len,
                 (const char *)data);
        nseen++;
    }
    return 0;
}

static int on_service(uint32_t addr, const char *name)
{
    snprintf(service_name, sizeof service_name, "%s", name);
    service_addr = addr;
    nservices_heard++;
    return 0;
}

static void ref(void *owner)
{
    (void)owner;
}

static const struct opc_ops ops = {
    .is_main_thread = is_main,
    .schedule = schedule,
    .on_message = on_message,
    .on_service = on_service,
    .ref = ref,
    .unref = ref,
};

static uint32_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Run deliveries as the main thread of an interpreter would, until done()
 * or 10 s. */
static bool run_until(bool (*done)(void *), void *arg)
{
    uint32_t t0 = ms_now();
    while (!done(arg)) {
        if (ms_now() - t0 > 10000)
            return false;
        struct pollfd pfd = { .fd = sched_pipe[0], .events = POLLIN };
        if (poll(&pfd, 1, 10) > 0) {
            char buf[64];
            (void)!read(sched_pipe[0], buf, sizeof buf);
            assert_int_equal(opc_deliver(), 0);
        }
    }
    return true;
}

static bool ept_ready(void *arg)
{
    return opc_ept_is_ready(arg);
}

static bool seen_count(void *arg)
{
    return nseen >= *(int *)arg;
}

static void fw(char *out, size_t len, const char *rel)
{
    int n = snprintf(out, len, "%s/%s", build_dir, rel);
    assert_true(n > 0 && (size_t)n < len);
}

static int reload(const void *owner, struct opc_err *e)
{
    return opc_rproc_load_file(owner, (const char *)owner, "firmware", e);
}

/* Boot firmware (its path is the owner token), board lock held. */
static void boot(const char *path)
{
    struct opc_err e;
    assert_int_equal(opc_rproc_load_file(path, path, path, &e), 0);
    int rc = opc_rproc_start(path, reload, &e);
    if (rc)
        fail_msg("start: %s", e.msg);
}

static void shutdown_core(const char *path)
{
    struct opc_err e;
    assert_int_equal(opc_rproc_shutdown(path, &e), 0);
}

#define ANY AMP_RPMSG_ADDR_ANY

/* An endpoint, then the firmware build/<rel>, until the endpoint is ready.
 * Returns with the board lock held. */
static void start_with(char path[PATH_MAX], const char *rel, struct opc_ept *ept, void *owner,
                       const char *name, bool has_callback)
{
    fw(path, PATH_MAX, rel);
    struct opc_err e;
    assert_int_equal(opc_enter(&e), 0);
    assert_int_equal(opc_ept_create(ept, owner, name, has_callback, ANY, ANY, &e), 0);
    boot(path);
    opc_leave();
    assert_true(run_until(ept_ready, ept));
    assert_int_equal(opc_enter(&e), 0);
}

/* Deinit, shut the core down, let the lock go. */
static void finish(struct opc_ept *ept, const char *path)
{
    struct opc_err e;
    assert_int_equal(opc_ept_deinit(ept, &e), 0);
    shutdown_core(path);
    opc_leave();
}

static int send_str(struct opc_ept *ept, const char *s, struct opc_err *e)
{
    return opc_ept_send(ept, s, strlen(s), ANY, ANY, 1000, e);
}

/* ---- No board needed ---- */

static void test_argument_rules(void **state)
{
    (void)state;
    struct opc_err e;
    char name[AMP_RPMSG_NAME_LEN];
    const char *n31 = "0123456789012345678901234567890";
    assert_int_equal(opc_check_name(n31, 31, name, &e), 0);
    assert_string_equal(name, n31);
    assert_int_equal(opc_check_name("01234567890123456789012345678901", 32, name, &e), -1);
    assert_int_equal(e.kind, OPC_EXC_VALUE);
    assert_non_null(strstr(e.msg, "32 bytes long"));
    assert_int_equal(opc_check_name("a\0b", 3, name, &e), -1);
    assert_non_null(strstr(e.msg, "NUL"));

    uint32_t addr;
    assert_int_equal(opc_check_addr(-1, false, "src", &addr, &e), 0);
    assert_int_equal(addr, AMP_RPMSG_ADDR_ANY);
    assert_int_equal(opc_check_addr(0xFFFFFFFFLL, false, "src", &addr, &e), 0);
    assert_int_equal(opc_check_addr(1024, false, "dest", &addr, &e), 0);
    assert_int_equal(addr, 1024);
    assert_int_equal(opc_check_addr(-2, false, "dest", &addr, &e), -1);
    assert_non_null(strstr(e.msg, "dest must be an address"));
    assert_int_equal(opc_check_addr(1LL << 32, false, "src", &addr, &e), -1);
    assert_int_equal(opc_check_addr(0, true, "src", &addr, &e), -1);

    int32_t t;
    assert_int_equal(opc_check_timeout(-1, false, &t, &e), 0);
    assert_int_equal(t, -1);
    assert_int_equal(opc_check_timeout(INT32_MAX, false, &t, &e), 0);
    assert_int_equal(opc_check_timeout(-2, false, &t, &e), -1);
    assert_int_equal(opc_check_timeout((long long)INT32_MAX + 1, false, &t, &e), -1);

    uint64_t entry;
    assert_int_equal(opc_check_entry(0x08100000, false, &entry, &e), 0);
    assert_int_equal(entry, 0x08100000u);
    assert_int_equal(opc_check_entry(-1, false, &entry, &e), -1);
    assert_int_equal(opc_check_entry(1LL << 32, false, &entry, &e), -1);
}

static void test_configure(void **state)
{
    (void)state;
    struct opc_err e;
    struct opc_settings bad = { .board = "nucleo", .remove_flash = -1, .cpu = INT_MIN };
    assert_int_equal(opc_configure(&bad, &e), -1);
    assert_non_null(strstr(e.msg, "the only board is 'sim-h747'"));
    bad = (struct opc_settings){ .name = "../x", .remove_flash = -1, .cpu = INT_MIN };
    assert_int_equal(opc_configure(&bad, &e), -1);
    bad = (struct opc_settings){ .wait_mode = "lazy", .remove_flash = -1, .cpu = INT_MIN };
    assert_int_equal(opc_configure(&bad, &e), -1);
    bad = (struct opc_settings){ .remove_flash = -1, .cpu = 5000 };
    assert_int_equal(opc_configure(&bad, &e), -1);

    char name[64];
    snprintf(name, sizeof name, "ctest-python-%d", (int)getpid());
    struct opc_settings good = { .name = name, .remove_flash = 1, .cpu = INT_MIN };
    assert_int_equal(opc_configure(&good, &e), 0);
    assert_int_equal(opc_enter(&e), 0);
    opc_leave();
    assert_int_equal(opc_configure(&good, &e), -1);
    assert_int_equal(e.kind, OPC_EXC_RUNTIME);
}

/* ---- Real firmware ---- */

static void test_callbacks_from_the_queue(void **state)
{
    (void)state;
    char path[PATH_MAX];
    struct opc_err e;
    static struct opc_ept ept;
    int owner;
    start_with(path, "firmware/virtual_uart.elf", &ept, &owner, "vuart-channel", true);
    nseen = 0;
    for (int i = 0; i < 5; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof msg, "m%d", i);
        assert_int_equal(send_str(&ept, msg, &e), n);
    }
    opc_leave();
    int want = 5;
    assert_true(run_until(seen_count, &want));
    for (int i = 0; i < 5; i++) {
        char msg[16];
        snprintf(msg, sizeof msg, "m%d", i);
        assert_string_equal(seen[i].data, msg);
        assert_ptr_equal(seen[i].owner, &owner);
        assert_int_equal(seen[i].src, ept.ept.dest_addr);
    }
    /* Sending after the payload limit: a clear error, nothing truncated. */
    char big[OPC_MSG_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(opc_enter(&e), 0);
    assert_int_equal(opc_ept_send(&ept, big, sizeof big, ANY, ANY, 0, &e), -1);
    assert_int_equal(e.kind, OPC_EXC_VALUE);
    assert_int_equal(opc_ept_deinit(&ept, &e), 0);
    assert_int_equal(opc_ept_send(&ept, "x", 1, ANY, ANY, 0, &e), -1);
    assert_non_null(strstr(e.msg, "deinitialised"));
    shutdown_core(path);
    opc_leave();
}

static void test_recv_and_descriptor(void **state)
{
    (void)state;
    char path[PATH_MAX];
    struct opc_err e;
    static struct opc_ept ept;
    start_with(path, "firmware/virtual_uart.elf", &ept, NULL, "vuart-channel", false);
    int fd = opc_ept_fileno(&ept, &e);
    assert_true(fd >= 0);
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 0), 0);   /* nothing queued */
    uint8_t buf[OPC_MSG_MAX];
    uint32_t src;
    assert_int_equal(opc_ept_recv(&ept, buf, &src, 0, &e), -1);
    assert_int_equal(e.err, ETIMEDOUT);
    uint32_t t0 = ms_now();
    assert_int_equal(opc_ept_recv(&ept, buf, &src, 50, &e), -1);
    assert_int_equal(e.err, ETIMEDOUT);
    assert_true(ms_now() - t0 >= 50);
    for (int i = 0; i < 3; i++)
        assert_int_equal(opc_ept_send(&ept, "abc", 3 - (size_t)i, AMP_RPMSG_ADDR_ANY,
                                      AMP_RPMSG_ADDR_ANY, 1000, &e), 3 - i);
    opc_leave();
    assert_int_equal(poll(&pfd, 1, 5000), 1);   /* the echoes arrive */
    assert_int_equal(opc_enter(&e), 0);
    for (int i = 0; i < 3; i++) {
        int n = opc_ept_recv(&ept, buf, &src, 5000, &e);
        assert_int_equal(n, 3 - i);
        assert_memory_equal(buf, "abc", (size_t)n);
        assert_int_equal(src, ept.ept.dest_addr);
    }
    assert_int_equal(opc_ept_pending(&ept), 0);
    assert_int_equal(poll(&pfd, 1, 0), 0);   /* drained: not readable */
    finish(&ept, path);
}

static bool pending_at_least(void *arg)
{
    struct opc_ept *ept = arg;
    return opc_ept_pending(ept) >= 224;
}

static void test_back_pressure_when_the_queue_is_full(void **state)
{
    (void)state;
    char path[PATH_MAX];
    struct opc_err e;
    static struct opc_ept ept;
    start_with(path, "tests/python/streamer.elf", &ept, NULL, "stream", false);
    /* 300 lines of 400 bytes, the remote waiting as long as it takes. */
    assert_int_equal(send_str(&ept, "300 400 -1", &e), 10);
    opc_leave();
    /* The queue takes floor(64 KiB / 408) = 160; the ring's 64 receive
     * buffers are then held; the remote waits. Bounded, nothing dropped. */
    assert_true(run_until(pending_at_least, &ept));
    usleep(200 * 1000);
    assert_int_equal(opc_enter(&e), 0);
    assert_int_equal(ept.q_count, OPC_RXQ_BYTES / 408);
    assert_int_equal(ept.held_count, 64);
    assert_int_equal(opc_ept_pending(&ept), OPC_RXQ_BYTES / 408 + 64);
    for (int i = 0; i < 300; i++) {
        uint8_t buf[OPC_MSG_MAX];
        uint32_t src;
        int n = opc_ept_recv(&ept, buf, &src, 5000, &e);
        assert_int_equal(n, 400);
        char want[16];
        int w = snprintf(want, sizeof want, "line %d.", i);
        assert_memory_equal(buf, want, (size_t)w);
        assert_int_equal(buf[399], '\n');
    }
    assert_int_equal(ept.lost, 0);
    char trace[4096];
    assert_true(opc_trace(trace, sizeof trace) > 0);
    assert_non_null(strstr(trace, "stream: sent 300 of 300"));
    assert_null(strstr(trace, "timed out"));
    finish(&ept, path);
}

/* ---- A sender thread that is not the main one (test_lifecycle.py's
 * test_send_from_another_thread, without an interpreter): it runs out of
 * transmit buffers and waits while the receive thread pumps and the main
 * thread delivers. Three threads take the board lock; under TSan (make test
 * runs this file that way too) any unlocked read of the lock's own state
 * shows up here. Such a read once let a thread that had last held the lock
 * believe it still did while the receive thread was taking it (the compiler
 * stored lock_depth before lock_owner): two threads reclaimed the transmit
 * ring at once, and sends stopped after the first 46 buffers. ---- */

#define THREAD_SENDS 300

static bool delivered_count(void *arg)
{
    return ndelivered >= *(int *)arg;
}

static struct opc_ept thread_ept;
static int thread_sent, thread_send_rc;
static char thread_send_msg[sizeof ((struct opc_err *)0)->msg];

static void *send_from_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < THREAD_SENDS; i++) {
        struct opc_err e;
        char msg[16];
        int n = snprintf(msg, sizeof msg, "t%d", i);
        if (opc_enter(&e) < 0) {
            thread_send_rc = -1;
            snprintf(thread_send_msg, sizeof thread_send_msg, "%s", e.msg);
            return NULL;
        }
        int rc = opc_ept_send(&thread_ept, msg, (size_t)n, ANY, ANY, 5000, &e);
        opc_leave();
        if (rc != n) {
            thread_send_rc = rc;
            snprintf(thread_send_msg, sizeof thread_send_msg, "%s", e.msg);
            return NULL;
        }
        thread_sent++;
    }
    return NULL;
}

static void test_send_from_another_thread(void **state)
{
    (void)state;
    char path[PATH_MAX];
    int owner;
    start_with(path, "firmware/virtual_uart.elf", &thread_ept, &owner, "vuart-channel", true);
    opc_leave();
    ndelivered = out_of_order = 0;
    thread_order = true;
    thread_sent = thread_send_rc = 0;
    pthread_t sender;
    assert_int_equal(pthread_create(&sender, NULL, send_from_thread, NULL), 0);
    int want = THREAD_SENDS;
    bool all = run_until(delivered_count, &want);
    assert_int_equal(pthread_join(sender, NULL), 0);
    thread_order = false;
    if (thread_send_rc != 0)
        fail_msg("send %d from the other thread: %s", thread_sent, thread_send_msg);
    if (!all)
        fail_msg("%d of %d echoes in 10 s", ndelivered, THREAD_SENDS);
    assert_int_equal(thread_sent, THREAD_SENDS);
    assert_int_equal(ndelivered, THREAD_SENDS);
    assert_int_equal(out_of_order, 0);   /* in order, and in the main thread (on_message) */
    struct opc_err e;
    assert_int_equal(opc_enter(&e), 0);
    assert_int_equal(opc.dev->ring_error, 0);
    finish(&thread_ept, path);
}

static bool service_known(void *arg)
{
    struct opc_err e;
    assert_int_equal(opc_enter(&e), 0);
    bool known = opc_service_find(arg) != NULL;
    opc_leave();
    return known;
}

static bool heard_one(void *arg)
{
    (void)arg;
    return nservices_heard > 0;
}

static void test_late_ns_callback_and_binding_again(void **state)
{
    (void)state;
    char path[PATH_MAX];
    fw(path, sizeof path, "firmware/virtual_uart.elf");
    struct opc_err e;
    static struct opc_ept ept;
    assert_int_equal(opc_enter(&e), 0);
    boot(path);
    opc_leave();
    assert_true(run_until(service_known, "vuart-channel"));
    /* A callback set after the announcement hears it. */
    nservices_heard = 0;
    assert_int_equal(opc_enter(&e), 0);
    opc_set_ns_callback(true);
    opc_leave();
    assert_int_equal(opc_deliver(), 0);
    assert_true(run_until(heard_one, NULL));
    assert_int_equal(nservices_heard, 1);
    assert_string_equal(service_name, "vuart-channel");
    assert_int_equal(opc_enter(&e), 0);
    opc_set_ns_callback(false);
    shutdown_core(path);
    opc_leave();

    /* An endpoint bound by the announcement, deinitialised, made again. */
    start_with(path, "firmware/virtual_uart.elf", &ept, NULL, "vuart-channel", false);
    uint32_t remote = ept.ept.dest_addr;
    assert_int_equal(opc_ept_deinit(&ept, &e), 0);
    assert_int_equal(opc_ept_create(&ept, NULL, "vuart-channel", false, ANY, ANY, &e), 0);
    assert_true(opc_ept_is_ready(&ept));
    assert_int_equal(ept.ept.dest_addr, remote);
    assert_int_equal(send_str(&ept, "again", &e), 5);
    uint8_t buf[OPC_MSG_MAX];
    uint32_t src;
    assert_int_equal(opc_ept_recv(&ept, buf, &src, 5000, &e), 5);
    assert_memory_equal(buf, "again", 5);
    finish(&ept, path);
}

static void test_crash(void **state)
{
    (void)state;
    char path[PATH_MAX];
    struct opc_err e;
    static struct opc_ept ept;
    start_with(path, "firmware/fault.elf", &ept, NULL, "vuart-channel", false);
    char why[200];
    opc_crash_reason(why, sizeof why);
    assert_string_equal(why, "");
    int fd = opc_ept_fileno(&ept, &e);
    assert_int_equal(send_str(&ept, "crash", &e), 5);
    opc_leave();
    /* The descriptor wakes a waiter when the core dies; recv() says why. */
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    assert_int_equal(opc_enter(&e), 0);
    uint8_t buf[OPC_MSG_MAX];
    uint32_t src;
    assert_int_equal(opc_ept_recv(&ept, buf, &src, -1, &e), -1);
    assert_int_equal(e.err, ENODEV);
    assert_non_null(strstr(e.msg, "gone"));
    assert_string_equal(opc_rproc_state(path), "crashed");
    opc_crash_reason(why, sizeof why);
    /* fault.elf is the M4 image: the emulated core names the access and pc
     * (the native fault-x86_64.elf would die of SIGSEGV). */
    assert_true(strstr(why, "write to 0x40021000") || strstr(why, "SIGSEGV"));
    finish(&ept, path);
    opc_close();
}

int main(void)
{
    if (test_build_dir(build_dir, sizeof build_dir) != 0)
        return 1;
    main_id = pthread_self();
    if (pipe(sched_pipe) != 0 || opc_init(&ops) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argument_rules),
        cmocka_unit_test(test_configure),
        cmocka_unit_test(test_callbacks_from_the_queue),
        cmocka_unit_test(test_recv_and_descriptor),
        cmocka_unit_test(test_back_pressure_when_the_queue_is_full),
        cmocka_unit_test(test_send_from_another_thread),
        cmocka_unit_test(test_late_ns_callback_and_binding_again),
        cmocka_unit_test(test_crash),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    close(sched_pipe[0]);
    close(sched_pipe[1]);
    return rc;
}
