"""Run the openamp module's tests under MicroPython's unix port.

    python3 tests/micropython/run.py /path/to/micropython [name patterns...]
    MICROPYTHON=/path/to/micropython make test-micropython

MicroPython is not part of this tree (docs/micropython.md says how to build
it with the module), so without a binary this runner says so and skips.
Each tests/micropython/test_*.py runs in a micropython process of its own
(mpunit.py prints one line per test); scenarios that need a signal or a
fresh process (the seed's example verbatim and Ctrl-C, a blocked send
interrupted, exit with a running core, a bad board) are driven from here.
Afterwards nothing may be left behind: no amp-simcore, no flash file.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(os.environ.get("AMP_BUILD", os.path.join(ROOT, "build")))


def elf_machine(path):
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return None
    return int.from_bytes(head[18:20], "little") if head[:4] == b"\x7fELF" else None


EM_X86_64, EM_ARM = 62, 40
FIRMWARE = {   # name -> (folder, the tests' variable)
    "virtual_uart": ("firmware", "AMP_FW_VIRTUAL_UART"),
    "fault": ("firmware", "AMP_FW_FAULT"),
    "ns_probe": (os.path.join("tests", "python"), "AMP_FW_NS_PROBE"),
    "ns_drop": (os.path.join("tests", "micropython"), "AMP_FW_NS_DROP"),
}


def core_sets():
    """Firmware per core type: the native x86-64 core, and the emulated
    Cortex-M4 when its images are built (NAME.elf, NAME-x86_64.elf,
    NAME-cm4.elf: classified by their ELF machine). A test firmware with no
    M4 build is taken from the native set."""
    sets = {"native": {}, "cm4": {}}
    for name, (folder, var) in FIRMWARE.items():
        for suffix in ("-x86_64", "", "-cm4"):
            path = os.path.join(BUILD, folder, name + suffix + ".elf")
            kind = {EM_X86_64: "native", EM_ARM: "cm4"}.get(elf_machine(path))
            if kind and var not in sets[kind]:
                sets[kind][var] = path
    if "AMP_FW_VIRTUAL_UART" not in sets["cm4"]:
        del sets["cm4"]
    else:
        for var, path in sets["native"].items():
            sets["cm4"].setdefault(var, path)
    return sets
# The seed document sits beside the checkout (or beside its worktree folder).
SEED_FILE = next((p for p in (os.path.join(d, "shared", "seed", "openamp-module.txt")
                              for d in (os.path.dirname(ROOT),
                                        os.path.dirname(os.path.dirname(ROOT))))
                  if os.path.exists(p)), "")
SLOW = 20.0

# The seed's example, character for character: the CPython suite's copy
# (tests/python/test_seed_verbatim.py, checked there against the seed
# document), read without importing that suite (it needs the CPython module).
def _seed_example():
    import ast
    path = os.path.join(ROOT, "tests", "python", "test_seed_verbatim.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", "") == "SEED_EXAMPLE"):
            return ast.literal_eval(node.value)
    raise RuntimeError("no SEED_EXAMPLE in " + path)


SEED_EXAMPLE = _seed_example()
ECHO_LINE = b"Received message on endpoint bytearray(b'data')"


def _python_runner():
    """tests/python/run.py, for its cores_of() (importing it runs nothing)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "python_tests_run", os.path.join(ROOT, "tests", "python", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# amp-simcore(-cm4) processes started by a host pid.
cores_of = _python_runner().cores_of


class Runner:
    def __init__(self, micropython, core, fw):
        self.mp = micropython
        self.core = core   # "native" or "cm4": prefixes the test names
        self.fw = fw
        self.passed = 0
        self.failed = []
        self.seq = 0

    def env(self, **extra):
        self.seq += 1
        name = "mpy-test-%d-%d" % (os.getpid(), self.seq)
        env = dict(os.environ, AMP_BUILD=BUILD, MICROPYPATH=HERE, OPENAMP_SIM_NAME=name,
                   OPENAMP_SIM_REMOVE_FLASH="1", **self.fw)
        env.update(extra)
        return env, "/dev/shm/amp-%s-flash" % name

    def leftovers(self, pid, flash):
        deadline = time.monotonic() + 5   # the core dies with its host (PDEATHSIG)
        while cores_of(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        left = ["amp-simcore pid %d" % p for p in cores_of(pid)]
        if os.path.exists(flash):
            left.append(flash)
            os.unlink(flash)
        return left

    def result(self, name, ok, why=""):
        name = "%s:%s" % (self.core, name)
        if ok:
            self.passed += 1
            print("ok %s" % name)
        else:
            self.failed.append(name)
            print("FAIL %s: %s" % (name, why))

    # ---- test files: mpunit output
    def run_file(self, path, only):
        env, flash = self.env(**({"MPY_TEST_ONLY": only} if only else {}))
        proc = subprocess.Popen([self.mp, path], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            out += b"\n(timed out)"
        text = out.decode("utf-8", "replace")
        base = os.path.basename(path)[:-3]
        seen = False
        for line in text.splitlines():
            if line.startswith("ok "):
                self.result("%s.%s" % (base, line.split()[1]), True)
            elif line.startswith("FAIL "):
                self.result("%s.%s" % (base, line.split()[1].rstrip(":")), False,
                            line.split(":", 1)[1].strip())
            elif line == "done":
                seen = True
        if not seen or proc.returncode != 0:
            self.result(base, False, "the script did not finish (exit %s):\n%s" %
                        (proc.returncode, text[-3000:]))
        left = self.leftovers(proc.pid, flash)
        if left:
            self.result(base + " cleanup", False, "left behind: " + ", ".join(left))
        elif os.environ.get("V"):
            print(text)

    # ---- scenarios driven from here
    def script(self, name, source, cwd=None, **env_extra):
        """Start `source` as a script; returns (proc, flash)."""
        tmp = tempfile.mkdtemp(prefix="mpy-")
        os.symlink(self.fw["AMP_FW_VIRTUAL_UART"], os.path.join(tmp, "virtual_uart.elf"))
        os.symlink(self.fw["AMP_FW_FAULT"], os.path.join(tmp, "fault.elf"))
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.write(source)
        env, flash = self.env(**env_extra)
        proc = subprocess.Popen([self.mp, name], cwd=tmp, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        return proc, flash

    def finish(self, proc, timeout=SLOW):
        try:
            return proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return out, err + b"\n(timed out: killed)"

    def seed_verbatim(self):
        name = "seed_example_verbatim_ctrl_c"
        if SEED_FILE:
            with open(SEED_FILE, encoding="utf-8") as f:
                if SEED_EXAMPLE.strip() not in f.read():
                    return self.result(name, False, "the embedded example differs from the seed")
        proc, flash = self.script("example.py", SEED_EXAMPLE)
        echoes, t0 = 0, time.monotonic()
        while echoes < 3 and time.monotonic() - t0 < SLOW:
            line = proc.stdout.readline()
            if not line:
                break
            if line.rstrip() == ECHO_LINE:
                echoes += 1
        proc.send_signal(signal.SIGINT)
        t_int = time.monotonic()
        _, err = self.finish(proc)
        ended_ms = (time.monotonic() - t_int) * 1000
        left = self.leftovers(proc.pid, flash)
        ok = echoes == 3 and b"KeyboardInterrupt" in err and not left
        self.result(name, ok, "echoes %d, stderr %r, left %r" % (echoes, err[-500:], left))
        print("   (3 echoes, then Ctrl-C: exit %d after %.0f ms)" % (proc.returncode, ended_ms))

    def blocked_send_ctrl_c(self):
        # A core that hangs serves no buffers: send() with the default
        # timeout=-1 blocks until Ctrl-C, which must end it promptly.
        src = '''import openamp, time
ept = openamp.Endpoint("vuart-channel")
rp = openamp.RemoteProc("fault.elf")
rp.start()
while not ept.is_ready():
    time.sleep_ms(1)
ept.send(b"hang")
time.sleep_ms(100)
print("filling")
n = 0
try:
    while True:
        ept.send(b"x" * 400)
        n += 1
except KeyboardInterrupt:
    print("interrupted after", n)
rp.shutdown()
print("clean")
'''
        proc, flash = self.script("blocked.py", src)
        line = proc.stdout.readline()
        time.sleep(1.0)   # well inside the blocked send by now
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = self.finish(proc)
        ms = (time.monotonic() - t0) * 1000
        left = self.leftovers(proc.pid, flash)
        ok = (line.strip() == b"filling" and b"interrupted after" in out and b"clean" in out
              and proc.returncode == 0 and not left)
        self.result("ctrl_c_ends_a_blocked_send", ok, "out %r err %r left %r" % (
            out, err[-500:], left))
        print("   (Ctrl-C to the end of the blocked send: %.0f ms)" % ms)

    def ctrl_c_in_a_callback(self):
        # Ctrl-C while a callback runs: it ends the callback, is raised in the
        # main flow, and the module keeps delivering afterwards.
        src = '''import openamp, time
n = [0]
def cb(src, data):
    n[0] += 1
    if n[0] == 1:
        print("in callback")
        t0 = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t0) < 20000:
            pass
ept = openamp.Endpoint("vuart-channel", cb)
rp = openamp.RemoteProc("virtual_uart.elf")
rp.start()
while not ept.is_ready():
    time.sleep_ms(1)
ept.send(b"x")
try:
    while True:
        time.sleep_ms(10)
except KeyboardInterrupt:
    print("interrupted after", n[0])
ept.send(b"y")
t0 = time.ticks_ms()
while n[0] < 2 and time.ticks_diff(time.ticks_ms(), t0) < 10000:
    time.sleep_ms(1)
print("delivered", n[0])
'''
        proc, flash = self.script("longcb.py", src)
        line = proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, err = self.finish(proc)
        ms = (time.monotonic() - t0) * 1000
        left = self.leftovers(proc.pid, flash)
        ok = (line.strip() == b"in callback" and b"interrupted after 1" in out
              and b"delivered 2" in out and proc.returncode == 0 and not left)
        self.result("ctrl_c_in_a_callback", ok, "out %r err %r left %r" % (out, err[-500:], left))
        print("   (Ctrl-C in a 20 s callback: script done %.0f ms later)" % ms)

    def exit_with_running_core(self):
        src = '''import openamp
ept = openamp.Endpoint("vuart-channel", lambda s, d: None)
rp = openamp.RemoteProc("virtual_uart.elf")
rp.start()
print("running")
'''
        proc, flash = self.script("exit.py", src)
        out, err = self.finish(proc)
        left = self.leftovers(proc.pid, flash)
        self.result("exit_with_a_running_core_cleans_up",
                    out.strip() == b"running" and proc.returncode == 0 and not left,
                    "exit %s out %r err %r left %r" % (proc.returncode, out, err, left))

    def bad_board(self):
        # The set-up's errors reach the user (upstream ignores rpmsg_init_vdev's).
        src = '''import openamp
try:
    openamp.Endpoint("x")
except (OSError, ValueError) as e:
    print("raised", type(e).__name__, e)
'''
        proc, _ = self.script("bad.py", src, OPENAMP_SIM_NAME="no/such/board")
        out, err = self.finish(proc)
        self.result("set_up_errors_raise", out.startswith(b"raised ") and b"board" in out,
                    "out %r err %r" % (out, err))
        src2 = '''import openamp
try:
    ept = openamp.Endpoint("vuart-channel")
    rp = openamp.RemoteProc("virtual_uart.elf")
    rp.start()
except OSError as e:
    print("raised", e.errno, e)
'''
        proc, flash = self.script("nocore.py", src2, AMP_SIMCORE="/nonexistent/amp-simcore")
        out, err = self.finish(proc)
        left = self.leftovers(proc.pid, flash)
        self.result("missing_simcore_raises", out.startswith(b"raised 2 ") and not left,
                    "out %r err %r" % (out, err))


def main():
    args = sys.argv[1:]
    mp = args.pop(0) if args and not args[0].startswith("-") and os.path.sep in args[0] else ""
    mp = mp or os.environ.get("MICROPYTHON", "")
    if not mp:
        print("micropython: skipped: no MicroPython binary given; build the unix port with "
              "USER_C_MODULES=bindings/micropython (docs/micropython.md) and run "
              "MICROPYTHON=/path/to/micropython make test-micropython")
        return 0
    if not os.access(mp, os.X_OK):
        print("micropython: %s is not an executable" % mp, file=sys.stderr)
        return 1
    probe = subprocess.run([mp, "-c", "import openamp"], capture_output=True)
    if probe.returncode != 0:
        print("micropython: %s has no openamp module: %s" % (mp, probe.stderr.decode()),
              file=sys.stderr)
        return 1
    only = args[0] if args else ""
    passed, failed = 0, []
    start = time.monotonic()
    for core, fw in core_sets().items():
        r = Runner(mp, core, fw)
        for f in sorted(os.listdir(HERE)):
            if f.startswith("test_") and f.endswith(".py"):
                r.run_file(os.path.join(HERE, f), only)
        if not only:
            r.seed_verbatim()
            r.blocked_send_ctrl_c()
            r.ctrl_c_in_a_callback()
            r.exit_with_running_core()
            r.bad_board()
        passed += r.passed
        failed += r.failed
    print("micropython: %d passed, %d failed (%.1f s)" % (passed, len(failed),
                                                        time.monotonic() - start))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
