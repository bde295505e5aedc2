/*
 * ompy_port.h - the MicroPython module's port glue that needs no MicroPython
 * header (built and tested by make test; modopenamp.c is built only inside
 * a MicroPython build).
 */
#ifndef OMPY_PORT_H
#define OMPY_PORT_H

#include <signal.h>
#include <stdbool.h>

#include "openamp_core.h"

/*
 * Before the module's first use of the board: hand the interpreter's ops to
 * the shared layer (once), point it at this build's amp-simcore unless
 * AMP_SIMCORE says otherwise, and close the board at process exit (after
 * the interpreter's own teardown ran the finalisers).
 */
void ompy_port_first_use(const struct opc_ops *ops);

/*
 * From the receive thread, after it scheduled callbacks: interrupt what the
 * main thread is blocked in. The unix port's time.sleep() is one select()
 * for the whole duration and runs the scheduler only when that returns
 * EINTR; a no-op handler for OMPY_WAKE_SIGNAL (installed at first use,
 * without SA_RESTART) makes it so. Every other blocking call of the port
 * retries on EINTR after running pending callbacks.
 */
#define OMPY_WAKE_SIGNAL SIGURG
void ompy_port_wake_main(void);

/* Hold SIGINT back in this thread (true) or let it through again (false:
 * a Ctrl-C that came meanwhile is delivered now). */
void ompy_port_hold_sigint(bool hold);
/* A Ctrl-C is waiting while held. */
bool ompy_port_sigint_pending(void);

#endif /* OMPY_PORT_H */
