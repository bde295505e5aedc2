/*
 * amp bench: runs the benchmark program amp-bench (bench/amp-bench.c) with
 * the benchmark firmware, both found next to this program: the build tree
 * (build/bench/amp-bench, build/firmware/bench.elf) or an installed copy
 * (PREFIX/libexec/amp/).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char help_bench[] =
    "usage: amp bench [amp-bench options]\n"
    "\n"
    "Run the benchmark: round-trip latency (polled, blocking, adaptive) and\n"
    "streaming throughput between this host and the simulated core, against raw\n"
    "baselines measured in the same run (docs/performance.md). Results go to\n"
    "--out DIR (default build/bench) as results.json. The options are amp-bench's:\n"
    "\n"
    "  --firmware ELF   the benchmark firmware (default: bench.elf found beside amp)\n"
    "  --out DIR        where results.json goes\n"
    "  --smoke          every measurement once with tiny counts (seconds)\n"
    "  --rounds N       repetitions of each measurement\n"
    "  --host-cpu N, --core-cpu N, --no-pin   CPU placement\n"
    "\n"
    "exit codes: amp-bench's (0 success), 1 if amp-bench cannot be found or run.\n";

/* dir of this program + rel, if that file exists (and is executable if exe). */
static bool beside_me(const char *rel, bool exe, char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    int m = snprintf(out, len, "%s/%s", self, rel);
    return m > 0 && (size_t)m < len && access(out, exe ? X_OK : R_OK) == 0;
}

int cmd_bench(int argc, char **argv)
{
    char prog[PATH_MAX], fw[PATH_MAX];
    const char *env = getenv("AMP_BENCH");
    if (env && *env)
        snprintf(prog, sizeof prog, "%s", env);
    else if (!beside_me("../bench/amp-bench", true, prog, sizeof prog) &&
             !beside_me("../libexec/amp/amp-bench", true, prog, sizeof prog))
        return cli_fail(EXIT_FAIL, "bench", "cannot find amp-bench beside %s (set AMP_BENCH)",
                        "this program");
    bool has_fw = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--firmware") || !strncmp(argv[i], "--firmware=", 11))
            has_fw = true;
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args)
        return cli_fail(EXIT_FAIL, "bench", "out of memory");
    int n = 0;
    args[n++] = prog;
    if (!has_fw && (beside_me("../firmware/bench.elf", false, fw, sizeof fw) ||
                    beside_me("../libexec/amp/bench.elf", false, fw, sizeof fw))) {
        args[n++] = "--firmware";
        args[n++] = fw;
    }
    for (int i = 1; i < argc; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    fflush(stdout);
    execv(prog, args);
    int e = cli_fail(EXIT_FAIL, "bench", "cannot run %s", prog);
    free(args);
    return e;
}
