"""`python -m tapegrad cache --info | --clear`: look at or empty the disk cache of native code.

    python -m tapegrad cache --info     # where it is, how many entries, their size, the cap
    python -m tapegrad cache --clear    # remove every entry (other files in the folder stay)

The cache directory is the one compiled code goes to (TAPEGRAD_CACHE_DIR, else
$XDG_CACHE_HOME/tapegrad, else ~/.cache/tapegrad).  `--clear` removes only
files named like cache entries, so pointing TAPEGRAD_CACHE_DIR at a folder
that holds anything else never loses it.
"""
from __future__ import annotations

import argparse
import sys

from .runtime import cache


def add_parser(sub) -> None:
    """The `cache` subcommand, added to the main parser's subparsers."""
    p = sub.add_parser("cache", help="show (--info) or empty (--clear) the disk cache")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--info", action="store_true", help="where the cache is and its size")
    group.add_argument("--clear", action="store_true", help="remove every cached entry")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def run(ns: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    try:
        info = cache.info()
    except ValueError as e:  # a bad TAPEGRAD_CACHE_MAX_BYTES
        print(f"tapegrad cache: {e}", file=sys.stderr)
        return 2
    if info.directory is None:
        print("disk cache: off (TAPEGRAD_CACHE_DIR is set and empty)", file=out)
        return 0
    if ns.clear:
        removed = cache.clear()
        print(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {info.directory}",
              file=out)
        return 0
    print(f"directory: {info.directory}", file=out)
    if not info.directory.is_dir():
        print("status:    not created yet (nothing compiled)", file=out)
    elif not info.usable:
        print("status:    NOT USED: the directory is owned by someone else or writable by "
              "group or others", file=out)
    else:
        print("status:    in use", file=out)
    print(f"entries:   {info.entries} ({_size(info.total_bytes)})", file=out)
    print(f"cap:       {_size(info.max_bytes)} (TAPEGRAD_CACHE_MAX_BYTES)", file=out)
    if info.refused:
        print(f"refused:   {info.refused} entr{'y' if info.refused == 1 else 'ies'} not owned "
              "by you, writable by others or not regular files (never loaded)", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tapegrad")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))
