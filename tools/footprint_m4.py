#!/usr/bin/env python3
"""The linked size of an M4 firmware image (--gc-sections) and who owns it:
read the GNU ld map file and sum the sizes of the input sections that made
it into the image, per part: the core library (src/), the M4 SDK (boards/stm32h747/sdk/), the
firmware's own code, the C library (newlib) and libgcc.

Usage: footprint_m4.py --elf fw.elf --map fw.map [--size arm-none-eabi-size] [--json out]
"""
import argparse
import json
import re
import subprocess

# An input section line: " .text.name  0x08100298  0x34 build/fw-cm4/src/x.o"
# (the name may sit alone on the line before).
LINE = re.compile(r"^ (\.[^\s]+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.(?:o|a\(.*\)))\s*$")
KEEP = (".isr_vector", ".text", ".rodata", ".ARM.exidx", ".data", ".bss", ".resource_table",
        ".amp_trace")


def part_of(path):
    if "/src/" in path:
        return "core library (src/)"
    if "/sdk/" in path:
        return "M4 SDK (boards/stm32h747/sdk/)"
    if "libc" in path:
        return "newlib (libc_nano)"
    if "libgcc" in path:
        return "libgcc"
    return "firmware"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--elf", required=True)
    ap.add_argument("--map", required=True)
    ap.add_argument("--size", default="arm-none-eabi-size")
    ap.add_argument("--json")
    a = ap.parse_args()

    out = subprocess.run([a.size, a.elf], check=True, capture_output=True, text=True).stdout
    text, data, bss = (int(x) for x in out.splitlines()[1].split()[:3])

    parts = {}
    pending = None
    in_discard = False
    for raw in open(a.map):
        if raw.startswith("Discarded input sections"):
            in_discard = True
        if raw.startswith("Memory map") or raw.startswith("Linker script and memory map"):
            in_discard = False
        if in_discard:
            continue
        line = raw.rstrip("\n")
        m = LINE.match(line)
        if not m:
            s = line.strip()
            pending = s if s.startswith(".") and " " not in s else None
            continue
        name = m.group(1) or pending or ""
        pending = None
        addr, size, path = int(m.group(2), 16), int(m.group(3), 16), m.group(4)
        if size == 0 or addr == 0 or not name.startswith(KEEP):
            continue
        kind = "bss" if name.startswith(".bss") else "data" if name.startswith(".data") else "text"
        p = parts.setdefault(part_of(path), {"text": 0, "data": 0, "bss": 0})
        p[kind] += size

    print(f"{a.elf}: linked with --gc-sections: text {text}, data {data}, bss {bss} "
          f"(flash {text + data} bytes; bss includes the 16 KiB stack)")
    print(f"  {'text+ro':>8} {'data':>6} {'bss':>7}  part")
    for name, p in sorted(parts.items(), key=lambda kv: -kv[1]["text"]):
        print(f"  {p['text']:>8} {p['data']:>6} {p['bss']:>7}  {name}")
    core = parts.get("core library (src/)", {"text": 0})
    flash = text + data
    print(f"  core library share of flash: {core['text']} of {flash} bytes "
          f"({100.0 * core['text'] / flash:.1f} %)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"elf": a.elf, "text": text, "data": data, "bss": bss, "parts": parts}, f,
                      indent=2)


if __name__ == "__main__":
    main()
