"""Market-1501 reader (image set: one-frame tracklets).

Layout (root = the Market-1501 folder)::

    bounding_box_train/PPPP_cCsS_FFFFFF_BB.jpg
    bounding_box_test/...     (pid -1 = junk, skipped; 0000 = distractors, kept)
    query/...

camid is the c field minus 1. Non-.jpg files (Thumbs.db) are ignored.

Invariants checked here (each a `DatasetFormatError` naming the file):

* every .jpg name parses as ``PPPP_cCsS_FFFFFF_BB.jpg`` (PPPP digits, or -1 for junk);
* camera C in 1..NUM_CAMS (6);
* an image name occurs in only one of the three directories (an image both in query
  and bounding_box_test, or in train and test, would be scored against itself or
  leak into training);
* query holds neither junk (-1: it would silently drop out of the query set) nor
  distractors (0000: not one identity, so not a query).
"""

from __future__ import annotations

import os
import re

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS
from vreid.data.readers._common import require_dir, require_disjoint

NUM_CAMS = 6  # Market-1501's cameras, c1..c6
SUBDIRS = ("bounding_box_train", "bounding_box_test", "query")
_NAME = re.compile(r"^(-1|\d+)_c(\d+)s(\d+)_(\d+)_(\d+)\.jpg$")


def _list_dir(root: str, sub: str) -> list[str]:
    directory = require_dir(os.path.join(root, sub), f"Market-1501 {sub} directory")
    return sorted(n for n in os.listdir(directory) if n.lower().endswith(".jpg"))


def _read_dir(root: str, sub: str, names: list[str]) -> list[Tracklet]:
    directory = os.path.join(root, sub)
    out: list[Tracklet] = []
    for name in names:
        m = _NAME.match(name)
        if m is None:
            raise DatasetFormatError(
                f"image {os.path.join(directory, name)!r} does not parse as PPPP_cCsS_FFFFFF_BB.jpg"
            )
        pid, cam = int(m.group(1)), int(m.group(2))
        if not 1 <= cam <= NUM_CAMS:
            raise DatasetFormatError(
                f"image {os.path.join(directory, name)!r}: camera c{cam} is outside c1..c{NUM_CAMS}"
            )
        if sub == "query" and pid in (-1, 0):
            raise DatasetFormatError(
                f"image {os.path.join(directory, name)!r}: a query image must show one identity, "
                f"not {'junk (-1)' if pid == -1 else 'a distractor (0000)'}"
            )
        if pid == -1:
            continue
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
    names = {sub: _list_dir(root, sub) for sub in SUBDIRS}
    for i, a in enumerate(SUBDIRS):
        for b in SUBDIRS[i + 1:]:
            require_disjoint(names[a], names[b], f"Market-1501 at {root!r}",
                             os.path.join(root, a), os.path.join(root, b), "image")
    return ReIDIndex(
        name="market1501",
        root=root,
        train=_read_dir(root, "bounding_box_train", names["bounding_box_train"]),
        query=_read_dir(root, "query", names["query"]),
        gallery=_read_dir(root, "bounding_box_test", names["bounding_box_test"]),
    )
