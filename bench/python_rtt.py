#!/usr/bin/env python3
"""Round trip through the `openamp` Python module, beside the C figure.

Boots build/firmware/bench.elf through openamp.RemoteProc, sends 16-byte
messages to its "bench-echo" endpoint and times each echo (send, then wait
for the receive callback, which the module runs in the main thread). The
firmware stays in its boot mode (blocking: it sleeps on the doorbell), so
the matching C figure is rtt_blocking_16B_us_p50. Results are merged into
results.json as python_rtt_16B_us_p50/p99 with their ratios to the C round
trips of the same run.

Skips (exit 0, with a message) when the module has not been built.
"""
import argparse
import json
import os
import statistics
import sys
import time


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firmware", default="build/firmware/bench.elf")
    ap.add_argument("--results", default="build/bench/results.json")
    ap.add_argument("--module-dir", default="build/python")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--host-cpu", type=int, default=0)
    ap.add_argument("--core-cpu", type=int, default=1)
    args = ap.parse_args()

    sys.path.insert(0, os.path.abspath(args.module_dir))
    try:
        import openamp
    except ImportError as e:
        print(f"python_rtt: skipped: the openamp module is not built in {args.module_dir} ({e})")
        return 0

    pin = len(os.sched_getaffinity(0)) >= 2 and args.host_cpu != args.core_cpu
    if pin:
        # The whole process (main thread and the module's notifier thread).
        os.sched_setaffinity(0, {args.host_cpu})
    openamp.configure(name=f"amp-bench-py-{os.getpid()}", remove_flash=True,
                      cpu=args.core_cpu if pin else -1, wait_mode="blocking")

    replies = [0]

    def on_echo(src, data):
        replies[0] += 1

    ept = openamp.Endpoint("bench-echo", callback=on_echo)
    rproc = openamp.RemoteProc(args.firmware)
    rproc.start()
    try:
        deadline = time.monotonic() + 10
        while not ept.is_ready():
            if time.monotonic() > deadline:
                print("python_rtt: the bench firmware never announced bench-echo", file=sys.stderr)
                return 1
            time.sleep(0.001)
        payload = bytes(range(args.size))
        samples = []
        for i in range(args.warmup + args.count):
            target = replies[0] + 1
            t0 = time.perf_counter_ns()
            ept.send(payload, timeout=2000)
            # Callbacks are pending calls of the main thread: give it the
            # chance to run them (sleep(0) drops the GIL for the notifier).
            while replies[0] < target:
                if time.perf_counter_ns() - t0 > 2_000_000_000:
                    print("python_rtt: no echo within 2 s", file=sys.stderr)
                    return 1
                time.sleep(0)
            t1 = time.perf_counter_ns()
            if i >= args.warmup:
                samples.append((t1 - t0) / 1000.0)
    finally:
        rproc.shutdown()
        ept.deinit()

    samples.sort()
    res = {
        f"python_rtt_{args.size}B_us_p50": percentile(samples, 0.50),
        f"python_rtt_{args.size}B_us_p99": percentile(samples, 0.99),
        f"python_rtt_{args.size}B_us_min": samples[0],
        f"python_rtt_{args.size}B_us_mean": statistics.fmean(samples),
        f"python_rtt_{args.size}B_samples": len(samples),
    }
    line = (f"python round trip {args.size} B (openamp module, blocking firmware): "
            f"p50 {res[f'python_rtt_{args.size}B_us_p50']:.2f} us, "
            f"p99 {res[f'python_rtt_{args.size}B_us_p99']:.2f} us")
    try:
        with open(args.results) as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = None
    if results is not None:
        for mode in ("blocking", "polled"):
            c = results.get(f"rtt_{mode}_{args.size}B_us_p50")
            if c:
                res[f"ratio_python_vs_c_{mode}_{args.size}B"] = res[f"python_rtt_{args.size}B_us_p50"] / c
        if f"ratio_python_vs_c_blocking_{args.size}B" in res:
            line += (f"; {res[f'ratio_python_vs_c_blocking_{args.size}B']:.2f}x the C blocking "
                     f"round trip ({results[f'rtt_blocking_{args.size}B_us_p50']:.2f} us)")
        results.update(res)
        with open(args.results, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        # For the plot (bench/latency.gp), beside the C baselines.
        gp = os.path.join(os.path.dirname(args.results), "baselines.gp")
        if os.path.exists(gp):
            with open(gp, "a") as f:
                f.write(f"python_rtt_us = {res[f'python_rtt_{args.size}B_us_p50']:.4f}\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
