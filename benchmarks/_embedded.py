"""What the benchmarks on the embedded MARS layout share: --quick / --json and the data check."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace | None:
    """Add --quick (2 epochs) and --json, parse; None (after saying why) when `--root`
    holds no mars/ folder."""
    parser.add_argument("--quick", action="store_true", help="2 epochs")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 2
    if not (Path(args.root) / "mars").is_dir():
        print(f"{args.root}/mars not found: run `vreid prepare` (or `make run`) first",
              file=sys.stderr)
        return None
    return args
