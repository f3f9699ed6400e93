"""Market-1501 reader (image set: one-frame tracklets).

Layout (root = the Market-1501 folder)::

    bounding_box_train/PPPP_cCsS_FFFFFF_BB.jpg
    bounding_box_test/...     (pid -1 = junk, skipped; 0000 = distractors, kept)
    query/...

camid is the c field minus 1. Non-.jpg files (Thumbs.db) are ignored.
"""

from __future__ import annotations

import os
import re

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS
from vreid.data.readers._common import require_dir

_NAME = re.compile(r"^(-1|\d+)_c(\d+)s(\d+)_(\d+)_(\d+)\.jpg$")


def _read_dir(root: str, sub: str) -> list[Tracklet]:
    directory = require_dir(os.path.join(root, sub), f"Market-1501 {sub} directory")
    out: list[Tracklet] = []
    for name in sorted(os.listdir(directory)):
        if not name.lower().endswith(".jpg"):
            continue
        m = _NAME.match(name)
        if m is None:
            raise DatasetFormatError(
                f"image {os.path.join(directory, name)!r} does not parse as PPPP_cCsS_FFFFFF_BB.jpg"
            )
        pid, cam = int(m.group(1)), int(m.group(2))
        if pid == -1:
            continue
        if cam < 1:
            raise DatasetFormatError(f"image {os.path.join(directory, name)!r}: camera c{cam} is not 1-based")
        out.append(
            Tracklet(
                frames=(os.path.join(directory, name),),
                pid=pid,
                camid=cam - 1,
                meta={"seq": int(m.group(3)), "frame": int(m.group(4))},
            )
        )
    return out


@DATASETS.register("market1501")
def read_market1501(root) -> ReIDIndex:
    """Read Market-1501 at `root`."""
    root = os.fspath(root)
    require_dir(root, "Market-1501 root")
    return ReIDIndex(
        name="market1501",
        root=root,
        train=_read_dir(root, "bounding_box_train"),
        query=_read_dir(root, "query"),
        gallery=_read_dir(root, "bounding_box_test"),
    )
