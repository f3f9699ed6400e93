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

Invariants checked here (each a `DatasetFormatError` naming the file or directory,
and the ls_set row):

* every directory under cam1 / cam2 is named personNNN, one per person number
  (person1 and person001 in one camera is an error);
* every person has both cameras: cam1 and cam2 hold the same persons (the first
  person missing from either is named);
* every person directory of a split holds at least one .png frame;
* ``ls_set`` (split file): the key is present and numeric with whole-number values;
  2-D (splits x persons) with an even number of columns (half test, half train);
  every entry a 1-based index into the sorted person list (1..number of persons);
  no entry repeated within a row, so train and test are disjoint in every split.
"""

from __future__ import annotations

import os
import re

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS
from vreid.data.readers._common import (
    Splits,
    load_mat_array,
    person_dirs,
    png_tracklet,
    require_dir,
    require_unique,
    two_camera_split_index,
)

SPLIT_FILE = os.path.join("train-test people splits", "train_test_splits_ilidsvid.mat")
_PERSON = re.compile(r"^person(\d+)$")


def _load_splits(path: str, num_persons: int) -> Splits:
    ls_set = load_mat_array(path, "ls_set", "iLIDS-VID split file")
    if ls_set.ndim != 2 or ls_set.shape[1] < 2 or ls_set.shape[1] % 2:
        raise DatasetFormatError(
            f"{path!r}: key 'ls_set' must be a (splits x persons) array with an even number of "
            f"persons (half test, half train), got shape {ls_set.shape}"
        )
    splits = []
    for r, row in enumerate(ls_set):
        bad = (row < 1) | (row > num_persons)
        if bad.any():
            raise DatasetFormatError(
                f"{path!r}: ls_set row {r + 1} has person index {int(row[bad][0])} out of range "
                f"1..{num_persons} (number of person directories)"
            )
        require_unique(row, path, "person index", unit="column", key=f"ls_set row {r + 1}")
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
    cam1, cam2 = (person_dirs(d, _PERSON, "personNNN") for d in cam_dirs)
    if not cam1:
        raise DatasetFormatError(f"iLIDS-VID cam1 directory {cam_dirs[0]!r} holds no person directories")
    for have, lack, d in ((cam1, cam2, cam_dirs[1]), (cam2, cam1, cam_dirs[0])):
        alone = sorted(set(have) - set(lack))
        if alone:
            raise DatasetFormatError(
                f"iLIDS-VID person {alone[0]} ({have[alone[0]]}) has no directory in {d!r} "
                f"({len(alone)} such person(s)); every person has both cameras"
            )
    renamed = [n for n in sorted(cam1) if cam1[n] != cam2[n]]
    if renamed:
        n = renamed[0]
        raise DatasetFormatError(
            f"iLIDS-VID person {n} is {cam1[n]!r} in {cam_dirs[0]!r} but {cam2[n]!r} in "
            f"{cam_dirs[1]!r}"
        )
    persons = sorted(cam1.values())
    pids = [int(_PERSON.match(p).group(1)) for p in persons]

    def tracklet(i: int, camid: int) -> Tracklet:
        return png_tracklet(os.path.join(cam_dirs[camid], persons[i]), pids[i], camid,
                            persons[i], "iLIDS-VID")

    return two_camera_split_index("ilids-vid", "iLIDS-VID", root, os.path.join(root, SPLIT_FILE),
                                  lambda path: _load_splits(path, len(persons)), len(persons),
                                  split_id, seed, tracklet)
