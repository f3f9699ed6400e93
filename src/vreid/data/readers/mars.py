"""MARS reader.

Layout (root = the MARS folder)::

    bbox_train/NNNN/NNNNCcTttttFfff.jpg
    bbox_test/NNNN/...            (junk images live in bbox_test/00-1/00-1C...)
    info/train_name.txt           image names, one per line
    info/test_name.txt
    info/tracks_train_info.mat    key track_train_info, N x 4 [start, end, pid, camid]
    info/tracks_test_info.mat     key track_test_info   (start/end: 1-based inclusive
                                  rows of the name list; camid 1-based)
    info/query_IDX.mat            key query_IDX, 1-based rows of track_test_info

Query = the query_IDX rows, gallery = every other test row. Gallery tracklets
with pid -1 (junk) are skipped, pid 0 (distractors) kept. Only directory presence
is checked (real MARS has ~1.2 M frames); the .mat parsing is vectorised.

Invariants checked here (each a `DatasetFormatError` naming the file and the
row / line / key; nothing is skipped or repaired silently):

* name lists (``train_name.txt``, ``test_name.txt``): not empty; every line parses as
  ``PPPPCcTttttFfff.jpg`` with PPPP four digits or ``00-1``; camera c in
  1..NUM_CAMS (6); every name occurs once (the line of both occurrences is named).
* ``tracks_*_info.mat``: the key is present and numeric with whole-number values
  (integer arrays, or whole-number floats); shape N x 4; every row has
  1 <= start <= end <= number of names; camid in 1..NUM_CAMS; the rows neither
  repeat nor overlap (each name belongs to at most one tracklet); every name of rows
  start..end carries the row's pid and camera (the line is named); the frame
  folder ``bbox_*/PPPP`` of every kept tracklet exists.
* ``query_IDX.mat``: the key is present and numeric with whole-number values; a
  1 x Q or Q x 1 array; every entry a 1-based row of ``tracks_test_info.mat``;
  entries unique (a repeated query would be scored twice); every query row a real
  tracklet, not junk (pid -1: it would silently drop out of the query set).
"""

from __future__ import annotations

import os
import re

import numpy as np

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS
from vreid.data.readers._common import (
    load_mat_array,
    require_dir,
    require_file,
    require_in_range,
    require_unique,
)

NUM_CAMS = 6  # MARS's cameras, C1..C6
# pid field is 4 chars ('0001', or '00-1' for junk); camera, tracklet and frame numbers follow.
_NAME_LINE = re.compile(r"^(\d{4}|00-1)C(\d+)T\d+F\d+\.jpg$", re.MULTILINE)


def _parse_names(names: list[str], path: str) -> tuple[np.ndarray, np.ndarray]:
    """pid and (1-based) camera of each name, vectorised over the whole list."""
    if not names:
        raise DatasetFormatError(f"name list {path!r} is empty")
    matches = _NAME_LINE.findall("\n".join(names))
    if len(matches) != len(names):
        single = re.compile(_NAME_LINE.pattern)
        for lineno, name in enumerate(names, 1):
            if not single.match(name):
                raise DatasetFormatError(
                    f"name list {path!r} line {lineno}: {name!r} does not parse as "
                    "PPPPCcTttttFfff.jpg"
                )
        raise DatasetFormatError(f"name list {path!r} does not parse")  # pragma: no cover
    # Few distinct values: convert each once through a lookup table.
    pid_lut = {s: (-1 if s == "00-1" else int(s)) for s in {m[0] for m in matches}}
    cam_lut = {s: int(s) for s in {m[1] for m in matches}}
    n = len(matches)
    pids = np.fromiter((pid_lut[m[0]] for m in matches), dtype=np.int64, count=n)
    cams = np.fromiter((cam_lut[m[1]] for m in matches), dtype=np.int64, count=n)
    if not all(1 <= c <= NUM_CAMS for c in cam_lut.values()):
        require_in_range(cams, 1, NUM_CAMS, path, "camera", unit="line")
    require_unique(names, path, "name", unit="line")
    return pids, cams


def _read_names(path: str, what: str) -> list[str]:
    """Names one per line (names hold no whitespace, so a plain split is exact and fast)."""
    require_file(path, what)
    try:
        with open(path, "r", encoding="utf-8") as fh:
            return fh.read().split()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetFormatError(f"cannot read {what} {path!r}: {exc}") from exc


def _check_track_info(info: np.ndarray, path: str, key: str, num_names: int, names_path: str) -> None:
    if info.ndim != 2 or info.shape[1] != 4:
        raise DatasetFormatError(
            f"{path!r}: key {key!r} must be an N x 4 array [start, end, pid, camid], "
            f"got shape {info.shape}"
        )
    start, end = info[:, 0], info[:, 1]
    bad = (start < 1) | (end < start) | (end > num_names)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DatasetFormatError(
            f"{path!r} row {row + 1}: start/end {int(start[row])}..{int(end[row])} out of range "
            f"for {names_path!r} with {num_names} names"
        )
    require_in_range(info[:, 3], 1, NUM_CAMS, path, "camid (1-based)")
    # rows must not repeat or overlap: sorted by start, each must begin after the previous ends
    order = np.argsort(start, kind="stable")
    clash = np.flatnonzero(start[order[1:]] <= end[order[:-1]])
    if clash.size:
        a, b = sorted((int(order[clash[0]]), int(order[clash[0] + 1])))
        same = bool(start[a] == start[b] and end[a] == end[b])
        raise DatasetFormatError(
            f"{path!r} row {b + 1} (names {int(start[b])}..{int(end[b])}) "
            f"{'repeats' if same else 'overlaps'} row {a + 1} (names {int(start[a])}..{int(end[a])}) "
            f"of {names_path!r}: each name belongs to at most one tracklet"
        )


def _check_rows_agree(
    info: np.ndarray, pids: np.ndarray, cams: np.ndarray, names: list[str], path: str, names_path: str
) -> None:
    """Every name in rows start..end must carry the row's pid and camera."""
    start0 = info[:, 0] - 1
    lengths = info[:, 1] - info[:, 0] + 1
    row_of = np.repeat(np.arange(len(info)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.repeat(start0, lengths) + offsets
    bad = (pids[pos] != info[row_of, 2]) | (cams[pos] != info[row_of, 3])
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row, line = int(row_of[k]), int(pos[k])
        raise DatasetFormatError(
            f"{path!r} row {row + 1} says pid {int(info[row, 2])} camera {int(info[row, 3])}, but "
            f"{names_path!r} line {line + 1} {names[line]!r} has pid {int(pids[line])} "
            f"camera {int(cams[line])}"
        )


def _tracklets(
    info: np.ndarray, rows: np.ndarray, names: list[str], image_dir: str, present: set[str], split: str
) -> list[Tracklet]:
    out: list[Tracklet] = []
    sep = os.sep
    for row in rows.tolist():
        start, end, pid, cam = (int(v) for v in info[row])
        if pid == -1:
            continue
        folder = names[start - 1][:4]
        if folder not in present:
            raise DatasetFormatError(
                f"missing frame directory {os.path.join(image_dir, folder)!r} "
                f"(needed by {split} tracklet row {row + 1})"
            )
        base = image_dir + sep + folder + sep
        frames = tuple([base + n for n in names[start - 1 : end]])
        out.append(Tracklet(frames=frames, pid=pid, camid=cam - 1, meta={"row": row}))
    return out


def _read_split(root: str, split: str, key: str):
    info_dir = os.path.join(root, "info")
    names_path = os.path.join(info_dir, f"{split}_name.txt")
    mat_path = os.path.join(info_dir, f"tracks_{split}_info.mat")
    names = _read_names(names_path, f"MARS {split} name list")
    info = load_mat_array(mat_path, key, f"MARS {split} track info")
    pids, cams = _parse_names(names, names_path)
    _check_track_info(info, mat_path, key, len(names), names_path)
    _check_rows_agree(info, pids, cams, names, mat_path, names_path)
    image_dir = require_dir(os.path.join(root, f"bbox_{split}"), f"MARS {split} frame directory")
    present = set(os.listdir(image_dir))
    return names, info, image_dir, present


@DATASETS.register("mars")
def read_mars(root) -> ReIDIndex:
    """Read MARS at `root`. Returns train / query / gallery tracklets (pids as in MARS)."""
    root = os.fspath(root)
    require_dir(root, "MARS root")
    require_dir(os.path.join(root, "info"), "MARS info directory")

    tr_names, tr_info, tr_dir, tr_present = _read_split(root, "train", "track_train_info")
    te_names, te_info, te_dir, te_present = _read_split(root, "test", "track_test_info")

    q_path = os.path.join(root, "info", "query_IDX.mat")
    query_idx = load_mat_array(q_path, "query_IDX", "MARS query index")
    if query_idx.ndim != 2 or 1 not in query_idx.shape:
        raise DatasetFormatError(
            f"{q_path!r}: key 'query_IDX' must be a 1 x Q or Q x 1 array, got shape {query_idx.shape}"
        )
    query_idx = query_idx.reshape(-1)
    out_of_range = (query_idx < 1) | (query_idx > len(te_info))
    if out_of_range.any():
        bad = int(query_idx[np.flatnonzero(out_of_range)[0]])
        raise DatasetFormatError(
            f"{q_path!r}: query row {bad} out of range for tracks_test_info.mat with {len(te_info)} rows"
        )
    require_unique(query_idx, q_path, "query row", unit="entry")
    query_rows = query_idx - 1
    junk = te_info[query_rows, 2] == -1
    if junk.any():
        k = int(np.flatnonzero(junk)[0])
        raise DatasetFormatError(
            f"{q_path!r} entry {k + 1}: query row {int(query_idx[k])} of tracks_test_info.mat is a "
            "junk tracklet (pid -1); every query must be a real tracklet"
        )
    is_query = np.zeros(len(te_info), dtype=bool)
    is_query[query_rows] = True
    gallery_rows = np.flatnonzero(~is_query)

    train = _tracklets(tr_info, np.arange(len(tr_info)), tr_names, tr_dir, tr_present, "train")
    query = _tracklets(te_info, query_rows, te_names, te_dir, te_present, "query")
    gallery = _tracklets(te_info, gallery_rows, te_names, te_dir, te_present, "gallery")
    return ReIDIndex(name="mars", root=root, train=train, query=query, gallery=gallery)
