"""Command line: `python -m tapegrad demo`."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] == "demo":
        from .demo import run_demo
        return run_demo()
    print(f"usage: python -m tapegrad demo", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
