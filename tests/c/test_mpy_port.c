/*
 * test_mpy_port.c - the MicroPython module's port glue (bindings/micropython
 * /ompy_port.c), which needs no MicroPython header: SIGINT held back and let
 * through, the wake-up that ends a time.sleep() (a select()) in the main
 * thread, and the first-use set-up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "ompy_port.h"
#include "ompy_mcu.h"
#include "amp/sim.h"

static volatile sig_atomic_t sigints;

static void on_sigint(int sig)
{
    (void)sig;
    sigints++;
}

static void test_sigint_is_held_then_delivered(void **state)
{
    (void)state;
    struct sigaction sa = { .sa_handler = on_sigint }, old;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGINT, &sa, &old), 0);
    sigints = 0;
    ompy_port_hold_sigint(true);
    assert_false(ompy_port_sigint_pending());
    assert_int_equal(pthread_kill(pthread_self(), SIGINT), 0);
    assert_int_equal(sigints, 0);          /* held: not delivered */
    assert_true(ompy_port_sigint_pending());
    ompy_port_hold_sigint(false);
    assert_int_equal(sigints, 1);          /* delivered on release */
    assert_false(ompy_port_sigint_pending());
    sigaction(SIGINT, &old, NULL);
}

static bool never(void)
{
    return false;
}

static const struct opc_ops ops = { .is_main_thread = never, .schedule = never };

static void *waker(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    ompy_port_wake_main();
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* MicroPython's unix time.sleep(s) is one select(); the receive thread's
 * wake-up must end it with EINTR so the scheduler runs. */
static void test_wake_ends_a_sleeping_select(void **state)
{
    (void)state;
    ompy_port_wake_main();   /* before first use: nothing installed, nothing sent */
    unsetenv("AMP_SIMCORE");
    ompy_port_first_use(&ops);
    /* The build's amp-simcore is what the board uses unless AMP_SIMCORE says otherwise. */
    assert_string_equal(opc.simcore, OMPY_SIMCORE_DEFAULT);
    ompy_port_first_use(&ops);   /* once only */
    struct sigaction now;
    assert_int_equal(sigaction(OMPY_WAKE_SIGNAL, NULL, &now), 0);
    assert_true(now.sa_handler != SIG_DFL && now.sa_handler != SIG_IGN);
    assert_int_equal(now.sa_flags & SA_RESTART, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waker, NULL), 0);
    struct timeval tv = { 5, 0 };
    double t0 = now_s();
    int rc = select(0, NULL, NULL, NULL, &tv);
    int err = errno;
    double spent = now_s() - t0;
    pthread_join(t, NULL);
    assert_int_equal(rc, -1);
    assert_int_equal(err, EINTR);
    assert_true(spent < 4.0);   /* woken, not timed out */
    assert_true(tv.tv_sec >= 1);   /* Linux leaves the time still to sleep */
}

static void fake_notify(void *ctx, uint32_t id)
{
    (void)ctx;
    (void)id;
}

static int fake_wait(void *ctx, int32_t ms)
{
    (void)ctx;
    (void)ms;
    return -AMP_ETIMEDOUT;
}

static uint32_t fake_time(void *ctx)
{
    (void)ctx;
    return 0;
}

static const struct amp_platform_ops fake_ops = { fake_notify, fake_wait, fake_time, NULL, NULL,
                                                  NULL };
static const struct amp_platform fake = { &fake_ops, NULL };

/*
 * MicroPython's SRAM4 layout, as the core writes it for the module's
 * STM32H747 board, sits at upstream's offsets and is byte for byte what the
 * simulated board lays out (see also test_rsc.c): table, rings with their
 * posted receive buffers, DRIVER_OK.
 */
static void test_h747_layout_is_the_boards(void **state)
{
    (void)state;
    uint8_t *mine = aligned_alloc(4096, OMPY_H747_SRAM4_SIZE);
    assert_non_null(mine);
    assert_int_equal(amp_rpmsg_h747_build_table(mine), 0);
    struct amp_rpmsg_config cfg;
    assert_int_equal(amp_rpmsg_h747_config(mine, AMP_RPMSG_HOST, &fake, &cfg), 0);
    assert_int_equal(cfg.vring_num, 64);
    assert_int_equal(cfg.buf_count, 108);
    assert_int_equal(cfg.buf_gap, 64);
    assert_int_equal(cfg.rx_buf_count, 64);
    assert_int_equal(cfg.addr_mode, AMP_ADDR_OFFSET);
    assert_int_equal((uint8_t *)cfg.vring[0] - mine, 0x1400);
    assert_int_equal((uint8_t *)cfg.vring[1] - mine, 0x400);
    assert_int_equal((uint8_t *)cfg.buf_pool - mine, 0x2400);
    struct amp_rpmsg_device dev;
    memset(&dev, 0, sizeof dev);
    assert_int_equal(amp_rpmsg_init(&dev, &cfg), 0);

    char name[64];
    snprintf(name, sizeof name, "mpy-layout-%d", (int)getpid());
    struct amp_sim_options opt = { .name = name, .remove_flash_on_close = true };
    struct amp_sim_board *board;
    char err[256] = "";
    assert_int_equal(amp_sim_open(&board, &opt, err, sizeof err), 0);
    struct amp_rpmsg_device *sim_dev;
    assert_int_equal(amp_sim_rpmsg(board, &sim_dev), 0);
    const struct amp_mem_map *map = amp_sim_mem_map(board);
    const uint8_t *theirs = amp_mem_da_to_va(map, OMPY_H747_SRAM4_DA, OMPY_H747_SRAM4_SIZE);
    assert_non_null(theirs);
    assert_memory_equal(mine, theirs, OMPY_H747_SRAM4_SIZE);
    amp_sim_close(board);
    free(mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigint_is_held_then_delivered),
        cmocka_unit_test(test_wake_ends_a_sleeping_select),
        cmocka_unit_test(test_h747_layout_is_the_boards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
