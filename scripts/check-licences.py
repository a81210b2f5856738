#!/usr/bin/env python3
"""Fails when a dependency can only be used under a licence outside the permissive set.

Reads `cargo metadata` (every package the lock file can pull in, on every platform) and checks
each package's SPDX expression: a package passes when at least one of its OR-alternatives is
made only of permissive licences. A copyleft dependency must be an explicit decision: add it
to ALLOWED_EXCEPTIONS with the reason, and record it in ARCHITECTURE.md.
"""
import json
import re
import subprocess
import sys

PERMISSIVE = {
    "MIT", "MIT-0", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause",
    "BSD-3-Clause", "0BSD", "ISC", "Zlib", "Unicode-3.0", "Unicode-DFS-2016", "Unlicense",
    "BSL-1.0", "CC0-1.0",
}
# package name -> reason. Empty: tapwatch uses no copyleft dependency.
ALLOWED_EXCEPTIONS: dict[str, str] = {}


def alternatives(expr: str):
    expr = expr.replace("/", " OR ").replace("(", " ").replace(")", " ")
    for alt in re.split(r"\s+OR\s+", expr):
        yield [t.strip() for t in re.split(r"\s+AND\s+", alt) if t.strip()]


def main() -> int:
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"], stderr=subprocess.DEVNULL))
    workspace = set(meta["workspace_members"])
    bad = []
    for pkg in meta["packages"]:
        if pkg["id"] in workspace or pkg["name"] in ALLOWED_EXCEPTIONS:
            continue
        lic = pkg.get("license")
        if not lic:
            bad.append(f"{pkg['name']} {pkg['version']}: no SPDX licence (license-file: {pkg.get('license_file')})")
            continue
        if not any(all(t in PERMISSIVE for t in alt) for alt in alternatives(lic)):
            bad.append(f"{pkg['name']} {pkg['version']}: {lic}")
    if bad:
        print("dependencies outside the permissive licence set:", *bad, sep="\n  ")
        return 1
    print(f"licences: {len(meta['packages']) - len(workspace)} dependencies, all permissive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
