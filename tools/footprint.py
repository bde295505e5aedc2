#!/usr/bin/env python3
"""Footprint of the core on Cortex-M4, two ways, into build/footprint.json.

1. Linked images (what a user ships): each map file given with --images is
   read, and every input section placed in flash (.text*, .rodata*) is
   attributed to the object it came from. The stack's share is what comes
   from our own objects (under --stack-dir); the environment (env.o), the
   application and the C library are reported apart. Feature deltas are the
   stack's share of each image minus that of the echo image, function by
   function. An image named lto-* was linked with the stack built -flto: its
   stack share is the link-time objects'. An SDK's objects (boards/stm32h747/sdk/) count as
   the environment.
2. Object sums (as before): .text/.data/.bss of the core's objects per group
   (remote side, host side, remoteproc), whether a program uses them or not.

Exit status 1 when the echo image's stack share is over --linked-limit.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

# An input section line of a GNU ld map: name, address, size, object; the
# name stands alone on the line before when it is long.
SECTION_RE = re.compile(r"^ (\.\S+|COMMON)\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", re.M)
FLASH_PREFIXES = (".text", ".rodata")


def sizes(size_tool, path):
    out = subprocess.run([size_tool, path], check=True, capture_output=True, text=True).stdout
    text, data, bss = (int(x) for x in out.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def read_map(path):
    """{object: {section: bytes}} for the flash input sections of a map file."""
    with open(path) as f:
        txt = f.read()
    # Sections the linker dropped are listed first; the placed ones follow.
    start = txt.find("Linker script and memory map")
    if start < 0:
        raise SystemExit(f"{path}: not a GNU ld map file")
    placed = collections.defaultdict(dict)
    for m in SECTION_RE.finditer(txt, start):
        name, size, obj = m.group(1), int(m.group(3), 16), m.group(4).strip()
        if size and name.startswith(FLASH_PREFIXES):
            placed[obj][name] = placed[obj].get(name, 0) + size
    return placed


def under(path, dirs):
    return any(path.startswith(os.path.normpath(d) + os.sep) for d in dirs)


def kind_of(obj, stack_dirs, app):
    norm = os.path.normpath(obj)
    # With -flto the stack's code comes out of the link-time objects.
    if under(norm, stack_dirs) or ".ltrans" in norm:
        return "stack"
    base = os.path.basename(norm)
    # The footprint images' environment, or an SDK's (startup, HAL).
    if base == "env.o" or "/sdk/" in norm:
        return "env"
    if base == app + ".o":
        return "app"
    if ".a(" in obj:
        return "libc"
    return "other"


def function_of(section):
    """.text.amp_rpmsg_poll -> amp_rpmsg_poll; .rodata.cfg.0 -> cfg.0 (rodata)."""
    for prefix in FLASH_PREFIXES:
        if section.startswith(prefix + "."):
            rest = section[len(prefix) + 1:]
            return rest if prefix == ".text" else rest + " (rodata)"
    return section


def image_report(map_path, stack_dirs):
    name = os.path.basename(map_path)[:-len(".map")]
    app = name.split("-", 1)[-1]
    placed = read_map(map_path)
    kinds = collections.Counter()
    objects = {}
    functions = {}
    for obj, secs in placed.items():
        kind = kind_of(obj, stack_dirs, app)
        total = sum(secs.values())
        kinds[kind] += total
        if kind == "stack":
            home = next((d for d in stack_dirs if under(os.path.normpath(obj), [d])), None)
            rel = "lto.o" if home is None else os.path.relpath(obj, os.path.dirname(home))
            objects[rel] = total
            for sec, n in secs.items():
                functions[f"{os.path.basename(rel)}:{function_of(sec)}"] = n
    return name, {
        "stack_text_bytes": kinds["stack"],
        "env_text_bytes": kinds["env"],
        "app_text_bytes": kinds["app"] + kinds["other"],
        "libc_text_bytes": kinds["libc"],
        "stack_objects": dict(sorted(objects.items())),
        "stack_functions": dict(sorted(functions.items(), key=lambda kv: -kv[1])),
    }


def print_images(images):
    print("linked images (--gc-sections, newlib-nano): flash bytes of .text + .rodata")
    print(f"  {'image':<22} {'stack':>6} {'env':>6} {'app':>6} {'libc':>6}  stack by object")
    for name, r in images.items():
        per_obj = ", ".join(f"{os.path.basename(o)[:-2]} {n}" for o, n in r["stack_objects"].items())
        print(f"  {name:<22} {r['stack_text_bytes']:>6} {r['env_text_bytes']:>6} "
              f"{r['app_text_bytes']:>6} {r['libc_text_bytes']:>6}  {per_obj}")
    base = images.get("echo")
    if not base:
        return {}
    deltas = {}
    for name, r in images.items():
        if name == "echo" or name.startswith("lto-"):
            continue
        d = r["stack_text_bytes"] - base["stack_text_bytes"]
        fa, fb = r["stack_functions"], base["stack_functions"]
        changed = {f: fa.get(f, 0) - fb.get(f, 0) for f in set(fa) | set(fb)}
        changed = {f: n for f, n in changed.items() if n}
        deltas[name] = {"stack_text_bytes": d,
                        "functions": dict(sorted(changed.items(), key=lambda kv: -kv[1]))}
        top = ", ".join(f"{f.split(':', 1)[1]} {n:+}" for f, n in
                        list(deltas[name]["functions"].items())[:8])
        print(f"  {name} - echo: {d:+} bytes of stack ({top})")
    return deltas


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="arm-none-eabi-size")
    ap.add_argument("--objdir", required=True)
    ap.add_argument("--remote", nargs="+", required=True)
    ap.add_argument("--host", nargs="+", required=True)
    ap.add_argument("--rproc", nargs="+", required=True)
    ap.add_argument("--images", nargs="*", default=[], help="map files of linked images")
    ap.add_argument("--stack-dir", nargs="+", default=[],
                    help="objects under these directories are the stack's")
    ap.add_argument("--linked-limit", type=int, default=0,
                    help="budget for the echo image's stack share (0: none)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    report = {"target": "cortex-m4 thumb -Os", "groups": {}}
    for group, objs in (("remote_core", args.remote), ("host_core", args.host),
                        ("remoteproc", args.rproc)):
        files = {o: sizes(args.size, f"{args.objdir}/{o}") for o in objs}
        total = {k: sum(f[k] for f in files.values()) for k in ("text", "data", "bss")}
        report["groups"][group] = {"files": files, "total": total}
        print(f"{group} (object sum):")
        print(f"  {'text':>6} {'data':>6} {'bss':>6}  file")
        for name, s in files.items():
            print(f"  {s['text']:>6} {s['data']:>6} {s['bss']:>6}  {name}")
        print(f"  {total['text']:>6} {total['data']:>6} {total['bss']:>6}  total")
    report["remote_core_text_bytes"] = report["groups"]["remote_core"]["total"]["text"]
    report["host_core_text_bytes"] = report["groups"]["host_core"]["total"]["text"]
    report["remoteproc_text_bytes"] = report["groups"]["remoteproc"]["total"]["text"]

    images = dict(image_report(m, args.stack_dir) for m in args.images)
    report["images"] = images
    report["feature_deltas"] = print_images(images) if images else {}
    status = 0
    if "echo" in images:
        linked = images["echo"]["stack_text_bytes"]
        report["linked_echo_remote_stack_text_bytes"] = linked
        if "lto-echo" in images:
            report["linked_echo_remote_stack_text_bytes_lto"] = images["lto-echo"]["stack_text_bytes"]
        if args.linked_limit:
            verdict = "within" if linked <= args.linked_limit else "OVER"
            print(f"linked echo remote: {linked} bytes of the stack "
                  f"({verdict} the {args.linked_limit}-byte budget)")
            status = 0 if linked <= args.linked_limit else 1
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
