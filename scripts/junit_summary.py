"""Sum pytest JUnit reports into one closing line: 'tests: N passed, N failed, N skipped'.

`--skipped-tier DIR` counts every test module of a tier that did not run (no ComfyUI found) as skipped,
so a run without that tier never reads as complete.
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def totals(paths):
    """Count <testcase> elements (pytest nests them in <testsuite>, node's reporter does not)."""
    passed = failed = skipped = 0
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--ran":
        p, f, _ = totals(args[1:])
        print(p + f)
        sys.exit(0)
    skipped_modules = 0
    if args and args[0] == "--skipped-tier":
        from pathlib import Path

        skipped_modules = len(list(Path(args[1]).glob("test_*.py")))
        args = args[2:]
    p, f, s = totals(args)
    tier = f" ({skipped_modules} of them the ComfyUI tier's test modules, not run)" if skipped_modules else ""
    print(f"tests: {p} passed, {f} failed, {s + skipped_modules} skipped{tier}")
    sys.exit(1 if f or p == 0 else 0)
