"""DukeMTMC-VideoReID reader.

Layout (root = the DukeMTMC-VideoReID folder)::

    train/<pid 4 digits>/<tracklet id 4 digits>/<pid>_C<cam>_F<frame>_X<n>.jpg
    query/...
    gallery/...

Frames are ordered by the F number (numerically), camid is the C field minus 1.
Empty tracklet folders (present in real copies) are skipped; non-.jpg files
(e.g. Thumbs.db) are ignored.

Invariants checked here (each a `DatasetFormatError` naming the folder or frame):

* every <pid> and <tracklet id> folder name is digits;
* every .jpg frame name parses as ``<pid>_C<cam>_F<frame>_X<n>.jpg``;
* a frame's pid is its folder's pid;
* a tracklet's frames share one camera, C in 1..NUM_CAMS (8);
* a tracklet's frame numbers F are unique (the temporal order is by F).
"""

from __future__ import annotations

import os
import re

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS
from vreid.data.readers._common import list_subdirs, require_dir

NUM_CAMS = 8  # DukeMTMC's cameras, C1..C8
_NAME = re.compile(r"^(\d+)_C(\d+)_F(\d+)_X(\d+)\.jpg$")


def _read_tracklet(tdir: str, pid: int, num_cams: int | None) -> Tracklet | None:
    names = [n for n in os.listdir(tdir) if n.lower().endswith(".jpg")]
    if not names:
        return None
    keyed = []
    cams = set()
    for name in names:
        m = _NAME.match(name)
        if m is None:
            raise DatasetFormatError(
                f"frame {os.path.join(tdir, name)!r} does not parse as <pid>_C<cam>_F<frame>_X<n>.jpg"
            )
        if int(m.group(1)) != pid:
            raise DatasetFormatError(
                f"frame {os.path.join(tdir, name)!r} has pid {int(m.group(1))} but lies in "
                f"the folder of pid {pid}"
            )
        cams.add(int(m.group(2)))
        keyed.append((int(m.group(3)), name))
    if len(cams) != 1:
        raise DatasetFormatError(f"tracklet {tdir!r} mixes cameras {sorted(cams)}")
    cam = cams.pop()
    if cam < 1:
        raise DatasetFormatError(f"tracklet {tdir!r}: camera C{cam} is not 1-based")
    if num_cams is not None and cam > num_cams:
        raise DatasetFormatError(f"tracklet {tdir!r}: camera C{cam} is outside C1..C{num_cams}")
    keyed.sort()
    for (f_prev, n_prev), (f, n) in zip(keyed, keyed[1:]):
        if f == f_prev:
            raise DatasetFormatError(
                f"tracklet {tdir!r}: frames {n_prev!r} and {n!r} have the same frame number F{f}"
            )
    frames = tuple(os.path.join(tdir, name) for _, name in keyed)
    return Tracklet(frames=frames, pid=pid, camid=cam - 1, meta={"tracklet": os.path.basename(tdir)})


def read_duke_split(root: str, split: str, what: str | None = None,
                    num_cams: int | None = NUM_CAMS) -> list[Tracklet]:
    """Tracklets of `root/split/<pid>/<tracklet id>/` (also EgoReID's tracklet folders,
    with `num_cams` None: no upper camera bound)."""
    split_dir = require_dir(os.path.join(root, split), what or f"DukeMTMC-VideoReID {split} directory")
    out: list[Tracklet] = []
    for pid_name in list_subdirs(split_dir):
        if not pid_name.isdigit():
            raise DatasetFormatError(
                f"directory {os.path.join(split_dir, pid_name)!r} is not a <pid> folder (digits expected)"
            )
        pid = int(pid_name)
        pid_dir = os.path.join(split_dir, pid_name)
        for tid in list_subdirs(pid_dir):
            if not tid.isdigit():
                raise DatasetFormatError(
                    f"directory {os.path.join(pid_dir, tid)!r} is not a <tracklet id> folder "
                    "(digits expected)"
                )
            tracklet = _read_tracklet(os.path.join(pid_dir, tid), pid, num_cams)
            if tracklet is not None:
                out.append(tracklet)
    return out


@DATASETS.register("duke-video")
def read_duke_video(root) -> ReIDIndex:
    """Read DukeMTMC-VideoReID at `root`."""
    root = os.fspath(root)
    require_dir(root, "DukeMTMC-VideoReID root")
    train = read_duke_split(root, "train")
    query = read_duke_split(root, "query")
    gallery = read_duke_split(root, "gallery")
    return ReIDIndex(name="duke-video", root=root, train=train, query=query, gallery=gallery)
