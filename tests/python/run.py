"""Run the openamp Python tests (unittest) and print a one-line summary.

    PYTHONPATH=build/python python3 tests/python/run.py [-q] [name patterns...]

`make test` runs it. The tests run in a child interpreter; once it has
exited, this parent checks that it left nothing behind (no simulated core
process, no flash file). Exits non-zero if a test failed or something was
left behind.
"""

import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def run_tests(args):
    sys.path.insert(0, HERE)
    import support  # noqa: F401  (configures the board for this process)

    verbosity = 1 if "-q" in args else 2
    patterns = [a for a in args if a != "-q"]
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    start = time.monotonic()
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    # Count tests, not sub-tests: a test with two failing sub-tests failed once.
    bad = {getattr(t, "test_case", t).id() for t, _ in result.failures + result.errors}
    failed = len(bad) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print("python: %d passed, %d failed%s (%.1f s)" % (
        passed, failed, ", %d skipped" % skipped if skipped else "",
        time.monotonic() - start))
    return 1 if failed or not result.testsRun else 0


def cores_of(host_pid):
    """amp-simcore processes started by host_pid (its pid is their argv[2])."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (len(argv) >= 3 and os.path.basename(argv[0]) in (b"amp-simcore", b"amp-simcore-cm4")
                and argv[2] == str(host_pid).encode()):
            found.append(int(entry))
    return found


def main():
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        return run_tests(args[1:])
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child"] + args)
    code = child.wait()
    # The core dies with its host (PR_SET_PDEATHSIG); give the kernel a moment.
    deadline = time.monotonic() + 5
    while cores_of(child.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    left = ["amp-simcore pid %d" % p for p in cores_of(child.pid)]
    flash = "/dev/shm/amp-pytest-%d-flash" % child.pid
    if os.path.exists(flash):
        left.append(flash)
        os.unlink(flash)   # reported, but not left to pile up
    if left:
        print("python: the test process left behind: " + ", ".join(left), file=sys.stderr)
        return 1
    return 1 if code else 0


if __name__ == "__main__":
    sys.exit(main())
