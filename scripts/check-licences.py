#!/usr/bin/env python3
"""Fails if any dependency's licence does not allow use under MIT OR Apache-2.0.

A package passes when one alternative of its SPDX expression uses only MIT,
Apache-2.0 and the permissive licences listed below (alone, or together in an
AND): code under those may be combined into a work distributed as MIT OR
Apache-2.0. (smoltcp, a measured peer, is 0BSD.)
"""
import json
import re
import subprocess
import sys

PERMISSIVE_EXTRA = {"Unicode-3.0", "Unicode-DFS-2016", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Zlib", "Unlicense", "CC0-1.0", "0BSD"}
OURS = {"MIT", "Apache-2.0"}

def acceptable(expr: str) -> bool:
    expr = expr.replace("/", " OR ")
    # Split on top-level OR: any alternative that is acceptable suffices.
    for alt in re.split(r"\bOR\b", expr.replace("(", " ").replace(")", " ")):
        terms = [t.strip() for t in re.split(r"\bAND\b", alt) if t.strip()]
        terms = [t.split(" WITH ")[0].strip() for t in terms]
        if terms and all(t in OURS | PERMISSIVE_EXTRA for t in terms):
            return True
    return False

meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
bad = []
for p in meta["packages"]:
    if p["source"] is None:
        if p.get("license") != "MIT OR Apache-2.0":
            bad.append(f"{p['name']} (ours) has licence {p.get('license')!r}")
        continue
    lic = p.get("license")
    if not lic or not acceptable(lic):
        bad.append(f"{p['name']} {p['version']}: {lic!r}")
if bad:
    print("licences not compatible with MIT OR Apache-2.0:\n  " + "\n  ".join(bad))
    sys.exit(1)
print(f"licences: all {len(meta['packages'])} packages compatible with MIT OR Apache-2.0")
