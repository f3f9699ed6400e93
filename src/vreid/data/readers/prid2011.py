"""PRID2011 reader (multi-shot part).

Layout (root = the folder holding both of these)::

    prid_2011/multi_shot/cam_a/person_NNNN/NNNN.png
    prid_2011/multi_shot/cam_b/person_NNNN/NNNN.png
    splits_prid2011.json      optional: [{"train": [...], "test": [...]}, ...] (10 splits)

Only persons present in both cameras (person_0001..person_0200 in the real
set) take part. Split entries are person numbers (the NNNN of person_NNNN) or
directory names ("person_0001"). Without the split file, 10 deterministic
seeded half/half splits are generated over the two-camera persons with more than
MIN_FRAMES (21) frames in BOTH cameras (178 persons in the real set: the standard
protocol of Wang et al. ECCV'14; paper 002 sec. 4: "we discard sequences shorter than
21 frames and use 178 sequences ... for training and rest 178 sequences for testing"),
and the returned index says so in its `split_info` attribute. The paper's "shorter
than 21" is read as "at most 21" (kept: > 21), the convention that yields 178 persons.

Train: both cameras of the train persons. Query: cam_a of the test persons
(camid 0). Gallery: cam_b of the test persons (camid 1). pid = NNNN.

Invariants checked here (each a `DatasetFormatError` naming the file or directory,
and the split / list / entry):

* every directory under cam_a / cam_b is named person_NNNN, one per person number
  (person_1 and person_0001 in one camera is an error);
* at least one person is present in both cameras;
* every person directory of a split holds at least one .png frame;
* ``splits_prid2011.json``: valid JSON, a non-empty list of splits, each a dict with
  non-empty ``train`` and ``test`` lists; every entry a person number (int, not bool or
  float) or a ``person_NNNN`` / digits string; every named person present in both
  cam_a and cam_b; no person twice in one list (a repeated test person would be a
  repeated query); train and test disjoint in every split.
"""

from __future__ import annotations

import json
import os
import re

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS
from vreid.data.readers._common import (
    Splits,
    list_frames,
    person_dirs,
    png_tracklet,
    require_dir,
    require_unique,
    two_camera_split_index,
)

SPLIT_FILE = "splits_prid2011.json"
MIN_FRAMES = 21  # generated splits keep persons with > MIN_FRAMES frames in both cameras
_PERSON = re.compile(r"^person_(\d+)$")


def _entry_to_number(entry, path: str, s: int, part: str) -> int:
    if isinstance(entry, bool):
        entry = None
    if isinstance(entry, int):
        return entry
    if isinstance(entry, str):
        m = _PERSON.match(entry) or re.match(r"^(\d+)$", entry)
        if m:
            return int(m.group(1))
    raise DatasetFormatError(
        f"{path!r}: split {s} {part!r} entry {entry!r} is neither a person number nor a person_NNNN name"
    )


def _load_splits(path: str, common: list[int]) -> Splits:
    try:
        with open(path, "r", encoding="utf-8") as fh:
            raw = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetFormatError(f"PRID2011 split file {path!r} is not valid JSON: {exc}") from exc
    if not isinstance(raw, list) or not raw:
        raise DatasetFormatError(f"PRID2011 split file {path!r} must hold a non-empty list of splits")
    position = {num: i for i, num in enumerate(common)}
    splits = []
    for s, split in enumerate(raw):
        if not isinstance(split, dict) or "train" not in split or "test" not in split:
            raise DatasetFormatError(f"{path!r}: split {s} must be a dict with 'train' and 'test' lists")
        parts = []
        for part in ("train", "test"):
            entries = split[part]
            if not isinstance(entries, list) or not entries:
                raise DatasetFormatError(f"{path!r}: split {s} {part!r} must be a non-empty list")
            nums = [_entry_to_number(entry, path, s, part) for entry in entries]
            require_unique(nums, path, "person", unit="entry", key=f"split {s} {part!r}")
            for num in nums:
                if num not in position:
                    raise DatasetFormatError(
                        f"{path!r}: split {s} {part!r} names person {num}, which is not present "
                        "in both cam_a and cam_b"
                    )
            parts.append([position[num] for num in nums])
        overlap = set(parts[0]) & set(parts[1])
        if overlap:
            raise DatasetFormatError(
                f"{path!r}: split {s} has persons in both train and test: "
                f"{sorted(common[i] for i in overlap)[:5]}"
            )
        splits.append((parts[0], parts[1]))
    return splits


@DATASETS.register("prid2011")
def read_prid2011(root, split_id: int = 0, seed: int = 0) -> ReIDIndex:
    """Read PRID2011 (multi-shot) at `root` with split `split_id` (0..9).

    `seed` only matters when splits_prid2011.json is absent (generated splits).
    """
    root = os.fspath(root)
    require_dir(root, "PRID2011 root")
    ms_dir = require_dir(os.path.join(root, "prid_2011", "multi_shot"), "PRID2011 multi_shot directory")
    cam_dirs = [
        require_dir(os.path.join(ms_dir, "cam_a"), "PRID2011 cam_a directory"),
        require_dir(os.path.join(ms_dir, "cam_b"), "PRID2011 cam_b directory"),
    ]
    cam_a, cam_b = (person_dirs(d, _PERSON, "person_NNNN") for d in cam_dirs)
    common = sorted(set(cam_a) & set(cam_b))
    if not common:
        raise DatasetFormatError(f"PRID2011: no person present in both {cam_dirs[0]!r} and {cam_dirs[1]!r}")
    if not os.path.exists(os.path.join(root, SPLIT_FILE)):
        # standard protocol for the generated splits: > MIN_FRAMES frames in both cameras
        common = [n for n in common
                  if all(len(list_frames(os.path.join(d, cams[n]), (".png",))) > MIN_FRAMES
                         for d, cams in zip(cam_dirs, (cam_a, cam_b)))]
        if not common:
            raise DatasetFormatError(
                f"PRID2011 at {root!r}: without {SPLIT_FILE} the generated splits use persons with "
                f"more than {MIN_FRAMES} frames in both cameras, and none has")
    names = [(cam_a[n], cam_b[n]) for n in common]

    def tracklet(i: int, camid: int) -> Tracklet:
        return png_tracklet(os.path.join(cam_dirs[camid], names[i][camid]), common[i], camid,
                            names[i][camid], "PRID2011")

    return two_camera_split_index("prid2011", "PRID2011", root, os.path.join(root, SPLIT_FILE),
                                  lambda path: _load_splits(path, common), len(common),
                                  split_id, seed, tracklet)
