#!/usr/bin/env python3
"""Put the emulated Cortex-M4's benchmark figures beside the native core's
(two results.json of amp-bench from the same make bench run), with the
ratios the issue sets targets for: polled round trip <= 5x native,
streaming 16 B >= 20 % of native, idle core < 1 % CPU. Prints, and writes
the comparison as JSON."""
import json
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bench_cm4.py NATIVE.json CM4.json OUT.json")
    native, cm4 = (json.load(open(p)) for p in sys.argv[1:3])
    rows = [
        ("round trip polled 16 B p50 (us)", "rtt_polled_16B_us_p50", "lower"),
        ("round trip blocking 16 B p50 (us)", "rtt_blocking_16B_us_p50", "lower"),
        ("round trip adaptive 16 B p50 (us)", "rtt_adaptive_16B_us_p50", "lower"),
        ("streaming 16 B (msg/s)", "stream_16B_msgs_per_s", "higher"),
        ("streaming 496 B zero-copy (B/s)", "stream_496B_zerocopy_bytes_per_s", "higher"),
        ("raw shm ping-pong (us)", "raw_pingpong_rtt_us", "lower"),
        ("raw doorbell ping-pong (us)", "raw_wake_rtt_us", "lower"),
        ("idle core, blocking (% CPU)", "blocking_idle_cpu_percent_core", "lower"),
    ]
    out = {}
    print("\nEmulated Cortex-M4 (the chip's image) beside the native x86-64 core, same run:")
    print(f"  {'figure':36} {'native':>12} {'M4':>12} {'M4/native':>10}")
    for label, key, _ in rows:
        n, m = native.get(key), cm4.get(key)
        if n is None or m is None:
            print(f"  {label:36} {'-':>12} {'-':>12}")
            continue
        ratio = m / n if n else float("nan")
        out[key] = {"native": n, "cm4": m, "ratio": ratio}
        print(f"  {label:36} {n:12.3f} {m:12.3f} {ratio:10.2f}")
    if "rtt_polled_16B_us_p50" in out:
        print("  target polled round trip <= 5x native: %.1fx" % out["rtt_polled_16B_us_p50"]["ratio"])
    if "stream_16B_msgs_per_s" in out:
        print("  target streaming 16 B >= 20 %% of native: %.1f %%" %
              (100 * out["stream_16B_msgs_per_s"]["ratio"]))
    if "blocking_idle_cpu_percent_core" in out:
        print("  target idle < 1 %% CPU: %.2f %% over %.1f s" %
              (out["blocking_idle_cpu_percent_core"]["cm4"], cm4.get("idle_seconds", 0)))
    with open(sys.argv[3], "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
