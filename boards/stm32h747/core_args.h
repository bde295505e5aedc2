/*
 * The start of both core programs of sim-h747 (amp-simcore, amp-simcore-cm4):
 *   <program> <address> [<host pid>]
 * Die with the host (PR_SET_PDEATHSIG), refuse to start for a host that is
 * already gone, parse the address. Returns 0, or prints why and returns 127.
 */
#ifndef AMP_SIM_CORE_ARGS_H
#define AMP_SIM_CORE_ARGS_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static inline int core_args(int argc, char **argv, const char *prog, const char *what,
                            unsigned long long max, unsigned long long *addr)
{
    const char *why = NULL, *detail = NULL;
    char *end;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        why = "prctl";
        detail = strerror(errno);
    } else if (argc < 2 || argc > 3) {
        why = "usage";
        detail = "<address> [<host pid>]";
    } else if (argc == 3) {
        errno = 0;
        long host = strtol(argv[2], &end, 10);
        if (errno || *end || host <= 0) {
            why = "bad host pid";
            detail = argv[2];
        } else if (getppid() != (pid_t)host) {
            why = "host";
            detail = "already gone";
        }
    }
    if (!why) {
        errno = 0;
        *addr = strtoull(argv[1], &end, 0);
        if (errno || *end || argv[1][0] == '\0' || *addr > max) {
            why = what;
            detail = argv[1];
        }
    }
    if (!why)
        return 0;
    fprintf(stderr, "%s: %s: %s\n", prog, why, detail);
    return 127;
}

#endif /* AMP_SIM_CORE_ARGS_H */
