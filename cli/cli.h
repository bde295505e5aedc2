/*
 * The amp command: what its subcommands (info.c, run.c, bench.c) share.
 */
#ifndef AMP_CLI_H
#define AMP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "amp/sim.h"

/* Exit codes (docs/amp.md). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,      /* the operation failed: unreadable file, bad firmware, no board */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_CRASHED = 3,   /* the remote core crashed or stopped on its own */
    EXIT_TIMEOUT = 4,   /* no answer in time: service never announced, reply missing */
};

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Help texts (also rendered into docs/amp.md by `amp help --markdown`). */
extern const char help_amp[], help_info[], help_run[], help_ping[], help_bench[];

/* Print help text and return EXIT_OK. */
int cli_help(const char *text);
/* "amp <cmd>: <message>" on stderr, then return code. */
int cli_fail(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Parse an unsigned decimal within [min, max]. */
bool cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* Ctrl-C / SIGTERM: set by the handler, polled by the loops. */
extern volatile int cli_stop;
void cli_catch_stop(void);

/* A board opened for a subcommand, with a firmware booted. */
struct cli_board {
    struct amp_sim_board *board;
    struct amp_rproc *rp;
    struct amp_rpmsg_device *dev;
    const struct amp_platform *p;
    char trace[8192];           /* the trace text already shown */
    size_t trace_shown;
};
/* Open the board `name` (NULL: sim-h747), load `firmware` (NULL: boot what is
 * in flash) and start it. Returns an exit code (EXIT_OK on success). */
int cli_boot(struct cli_board *cb, const char *cmd, const char *name, const char *firmware,
             amp_rpmsg_ns_cb ns_cb, void *ns_priv);
/* Print trace text the firmware wrote since the last call, each line prefixed. */
void cli_show_trace(struct cli_board *cb, const char *prefix);
/* If the core is no longer running: print why, return EXIT_CRASHED; else EXIT_OK. */
int cli_check_core(struct cli_board *cb, const char *cmd);
void cli_close(struct cli_board *cb);

#endif /* AMP_CLI_H */
