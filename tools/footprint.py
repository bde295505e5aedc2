#!/usr/bin/env python3
"""Report .text/.data/.bss of the core's object files, cross-compiled for
Cortex-M4 with -Os, per file and per group, and write build/footprint.json.

Groups: the remote-side core (what firmware needs for rpmsg: vring device
side + rpmsg common + remote role + name service), the host-side core, and
the remoteproc/ELF loader with the resource table code.
"""
import argparse
import json
import subprocess
import sys


def sizes(size_tool, path):
    out = subprocess.run([size_tool, path], check=True, capture_output=True, text=True).stdout
    text, data, bss = (int(x) for x in out.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="arm-none-eabi-size")
    ap.add_argument("--objdir", required=True)
    ap.add_argument("--remote", nargs="+", required=True)
    ap.add_argument("--host", nargs="+", required=True)
    ap.add_argument("--rproc", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=3000, help="remote-side .text budget")
    args = ap.parse_args()

    report = {"target": "cortex-m4 thumb -Os", "groups": {}}
    for group, objs in (("remote_core", args.remote), ("host_core", args.host),
                        ("remoteproc", args.rproc)):
        files = {o: sizes(args.size, f"{args.objdir}/{o}") for o in objs}
        total = {k: sum(f[k] for f in files.values()) for k in ("text", "data", "bss")}
        report["groups"][group] = {"files": files, "total": total}
        print(f"{group}:")
        print(f"  {'text':>6} {'data':>6} {'bss':>6}  file")
        for name, s in files.items():
            print(f"  {s['text']:>6} {s['data']:>6} {s['bss']:>6}  {name}")
        print(f"  {total['text']:>6} {total['data']:>6} {total['bss']:>6}  total")
    report["remote_core_text_bytes"] = report["groups"]["remote_core"]["total"]["text"]
    report["host_core_text_bytes"] = report["groups"]["host_core"]["total"]["text"]
    report["remoteproc_text_bytes"] = report["groups"]["remoteproc"]["total"]["text"]
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    remote = report["remote_core_text_bytes"]
    verdict = "within" if remote <= args.limit else "OVER"
    print(f"remote-side core: {remote} bytes of .text ({verdict} the {args.limit}-byte budget)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
