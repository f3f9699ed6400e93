"""iLIDS-VID reader.

Layout (root = the folder holding both of these)::

    i-LIDS-VID/sequences/cam1/personNNN/*.png
    i-LIDS-VID/sequences/cam2/personNNN/*.png
    train-test people splits/train_test_splits_ilidsvid.mat   key ls_set, 10 x 300

ls_set rows are 1-based indices into the sorted list of cam1 person
directories; the first half of a row is TEST, the second half TRAIN (the public
convention of Wang et al. ECCV'14, as in the widely used reader, e.g. deep-person-reid's
iLIDSVID: `train_idxs = ls_set[i, num_total//2:]`, `test_idxs = ls_set[i, :num_total//2]`).
Without
the split file, 10 deterministic seeded half/half splits are generated and the
returned index says so in its `split_info` attribute.

Train: both cameras of the train persons. Query: cam1 of the test persons
(camid 0). Gallery: cam2 of the test persons (camid 1). pid = NNN of personNNN.
"""

from __future__ import annotations

import os
import re

import numpy as np

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS
from vreid.data.readers._common import (
    Splits,
    list_subdirs,
    load_mat_array,
    png_tracklet,
    require_dir,
    two_camera_split_index,
)

SPLIT_FILE = os.path.join("train-test people splits", "train_test_splits_ilidsvid.mat")
_PERSON = re.compile(r"^person(\d+)$")


def _load_splits(path: str, num_persons: int) -> Splits:
    ls_set = load_mat_array(path, "ls_set", "iLIDS-VID split file")
    if ls_set.ndim != 2 or ls_set.shape[1] < 2:
        raise DatasetFormatError(
            f"{path!r}: key 'ls_set' must be a (splits x persons) array, got shape {ls_set.shape}"
        )
    splits = []
    for r, row in enumerate(ls_set):
        bad = (row < 1) | (row > num_persons)
        if bad.any():
            raise DatasetFormatError(
                f"{path!r}: ls_set row {r + 1} has person index {int(row[bad][0])} out of range "
                f"1..{num_persons} (number of person directories)"
            )
        if len(np.unique(row)) != len(row):
            raise DatasetFormatError(f"{path!r}: ls_set row {r + 1} repeats a person index")
        half = len(row) // 2
        # public convention: row[:half] is test, row[half:] is train (see module docstring)
        test, train = [int(i) - 1 for i in row[:half]], [int(i) - 1 for i in row[half:]]
        splits.append((train, test))
    return splits


@DATASETS.register("ilids-vid")
def read_ilids_vid(root, split_id: int = 0, seed: int = 0) -> ReIDIndex:
    """Read iLIDS-VID at `root` with split `split_id` (0..9).

    `seed` only matters when the split file is absent (generated splits).
    """
    root = os.fspath(root)
    require_dir(root, "iLIDS-VID root")
    seq_dir = require_dir(os.path.join(root, "i-LIDS-VID", "sequences"), "iLIDS-VID sequences directory")
    cam_dirs = [
        require_dir(os.path.join(seq_dir, "cam1"), "iLIDS-VID cam1 directory"),
        require_dir(os.path.join(seq_dir, "cam2"), "iLIDS-VID cam2 directory"),
    ]
    persons = sorted(list_subdirs(cam_dirs[0]))
    if not persons:
        raise DatasetFormatError(f"iLIDS-VID cam1 directory {cam_dirs[0]!r} holds no person directories")
    pids = []
    for person in persons:
        m = _PERSON.match(person)
        if m is None:
            raise DatasetFormatError(
                f"directory {os.path.join(cam_dirs[0], person)!r} is not named personNNN"
            )
        pids.append(int(m.group(1)))

    def tracklet(i: int, camid: int) -> Tracklet:
        return png_tracklet(os.path.join(cam_dirs[camid], persons[i]), pids[i], camid,
                            persons[i], "iLIDS-VID")

    return two_camera_split_index("ilids-vid", "iLIDS-VID", root, os.path.join(root, SPLIT_FILE),
                                  lambda path: _load_splits(path, len(persons)), len(persons),
                                  split_id, seed, tracklet)
