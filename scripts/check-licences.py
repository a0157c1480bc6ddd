#!/usr/bin/env python3
"""Fails if any dependency's licence does not allow use under MIT OR Apache-2.0.

A package passes when its SPDX expression offers MIT or Apache-2.0 (alone, in
an OR, or in an AND together with a permissive licence listed below).
"""
import json
import re
import subprocess
import sys

PERMISSIVE_EXTRA = {"Unicode-3.0", "Unicode-DFS-2016", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Zlib", "Unlicense", "CC0-1.0"}
OURS = {"MIT", "Apache-2.0"}

def acceptable(expr: str) -> bool:
    expr = expr.replace("/", " OR ")
    # Split on top-level OR: any alternative that is acceptable suffices.
    for alt in re.split(r"\bOR\b", expr.replace("(", " ").replace(")", " ")):
        terms = [t.strip() for t in re.split(r"\bAND\b", alt) if t.strip()]
        terms = [t.split(" WITH ")[0].strip() for t in terms]
        if terms and any(t in OURS for t in terms) and all(t in OURS | PERMISSIVE_EXTRA for t in terms):
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
