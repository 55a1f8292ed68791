"""Sum pytest JUnit reports into one closing line: 'tests: N passed, N failed, N skipped'."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def totals(paths):
    passed = failed = skipped = 0
    for path in paths:
        root = ET.parse(path).getroot()
        for suite in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
            tests, skip = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
            bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            passed += tests - skip - bad
            failed += bad
            skipped += skip
    return passed, failed, skipped


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--ran":
        p, f, _ = totals(args[1:])
        print(p + f)
        sys.exit(0)
    p, f, s = totals(args)
    print(f"tests: {p} passed, {f} failed, {s} skipped")
    sys.exit(1 if f or p == 0 else 0)
