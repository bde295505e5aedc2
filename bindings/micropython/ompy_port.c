/*
 * ompy_port.c - port glue of the MicroPython module (unix port, simulated
 * board): no MicroPython header here.
 */
#include "ompy_port.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef OMPY_SIMCORE_DEFAULT
#define OMPY_SIMCORE_DEFAULT ""
#endif

static bool initialised;
static pthread_t main_thread;
static bool wake_installed;

static void on_wake(int sig)
{
    (void)sig;   /* only to interrupt a system call */
}

/* Our handler, unless the program already handles the signal. */
static void install_wake(void)
{
    struct sigaction old;
    if (sigaction(OMPY_WAKE_SIGNAL, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
        return;
    struct sigaction sa = { .sa_handler = on_wake };   /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    wake_installed = sigaction(OMPY_WAKE_SIGNAL, &sa, NULL) == 0;
}

void ompy_port_wake_main(void)
{
    if (wake_installed)
        (void)pthread_kill(main_thread, OMPY_WAKE_SIGNAL);
}

static void close_at_exit(void)
{
    opc_close();
}

void ompy_port_first_use(const struct opc_ops *ops)
{
    if (initialised)
        return;
    initialised = true;
    main_thread = pthread_self();
    install_wake();
    (void)opc_init(ops);
    /* MicroPython has no notion of "next to this module": the build names
     * the amp-simcore it was built with. AMP_SIMCORE still wins. */
    const char *env = getenv("AMP_SIMCORE");
    if ((!env || !*env) && OMPY_SIMCORE_DEFAULT[0] && access(OMPY_SIMCORE_DEFAULT, X_OK) == 0) {
        struct opc_settings s = { .remove_flash = -1, .cpu = INT_MIN,
                                  .simcore = OMPY_SIMCORE_DEFAULT };
        struct opc_err e;
        (void)opc_configure(&s, &e);
    }
    (void)atexit(close_at_exit);
}

void ompy_port_hold_sigint(bool hold)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    (void)pthread_sigmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

bool ompy_port_sigint_pending(void)
{
    sigset_t set;
    return sigpending(&set) == 0 && sigismember(&set, SIGINT) == 1;
}
