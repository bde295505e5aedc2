"""Check that amp-bench --smoke wrote well-formed JSON with every figure (make test)."""
import json
import sys

KEYS = ("rtt_polled_16B_us_p50", "rtt_blocking_16B_us_p50", "rtt_adaptive_16B_us_p50",
        "raw_pingpong_rtt_us", "raw_wake_rtt_us", "stream_16B_msgs_per_s",
        "stream_496B_zerocopy_bytes_per_s", "ept256_stream_16B_msgs_per_s",
        "ept256_stream_16B_time_vs_ept1")

with open(sys.argv[1]) as f:
    d = json.load(f)
missing = [k for k in KEYS if k not in d]
if missing:
    sys.exit("bench-smoke: missing keys: " + ", ".join(missing))
print("bench-smoke: %d figures, JSON well-formed" % len(d))
