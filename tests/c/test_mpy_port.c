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
#include <pthread.h>
#include <signal.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "ompy_port.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigint_is_held_then_delivered),
        cmocka_unit_test(test_wake_ends_a_sleeping_select),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
