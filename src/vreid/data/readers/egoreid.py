"""EgoReID reader (paper 000): tracklets with sensor metadata.

Layout (root = the EgoReID folder; written by ``vreid.data.synth.write_egoreid``)::

    tracklets.csv               id,pid,camera,entry_time,exit_time,direction,split
    sensors/cam<k>.csv          the 12 sensor streams of camera k (vreid.data.sensors)
    train/<pid>/<id>/<pid>_C<k>_F<frame>_X<n>.jpg
    query/... gallery/...       (the DukeMTMC-VideoReID tracklet folders)

Every tracklet folder must have a row in tracklets.csv with the same id, pid, camera
and split, and every row a folder. Each tracklet's ``meta`` holds ``tracklet`` (id),
``camera`` (1-based), ``entry_time``, ``exit_time`` (seconds) and ``direction``
(``towards`` / ``away``); ``index.metadata["sensors"]`` maps camid (0-based) to that
camera's streams (column name -> float array, NaN where a sample is missing).

Invariants checked here (each a `DatasetFormatError` naming the file and line or folder):

* ``tracklets.csv``: present and readable; the header holds every column of
  TABLE_COLUMNS, each once; no row has more fields than the header; on every line
  id, pid and camera are integers with id >= 0, pid >= 0 and camera >= 1 (1-based),
  entry_time / exit_time finite numbers with entry <= exit, direction one of
  DIRECTIONS and split one of SPLITS; every id occurs once;
* the tracklet folders follow the DukeMTMC-VideoReID layout and its invariants
  (`vreid.data.readers.duke_video`; any camera number >= 1);
* every tracklet folder has a row with the same id, pid, camera and split, and every
  row a folder holding frames;
* every camera of the table has its sensor log ``sensors/cam<k>.csv`` with every
  sensor column and time_s present and strictly increasing (`vreid.data.sensors`).
"""

from __future__ import annotations

import csv
import math
import os

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS
from vreid.data.readers._common import require_dir, require_file, require_unique
from vreid.data.readers.duke_video import read_duke_split
from vreid.data.sensors import read_sensor_csv

TABLE = "tracklets.csv"
TABLE_COLUMNS = ("id", "pid", "camera", "entry_time", "exit_time", "direction", "split")
SPLITS = ("train", "query", "gallery")
DIRECTIONS = ("towards", "away")


def read_tracklet_table(path: str) -> dict[str, dict]:
    """Rows of tracklets.csv keyed by the tracklet id (as its folder name, 4 digits)."""
    require_file(path, "EgoReID tracklet table")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = tuple(h.strip() for h in reader.fieldnames or ())
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetFormatError(f"cannot read tracklet table {path!r}: {exc}") from exc
    missing = [c for c in TABLE_COLUMNS if c not in header]
    if missing:
        raise DatasetFormatError(f"tracklet table {path!r} lacks column(s) {missing}")
    require_unique(list(header), path, "column", unit="header field")
    out: dict[str, dict] = {}
    for line, row in enumerate(rows, start=2):
        where = f"tracklet table {path!r} line {line}"
        if None in row:  # csv.DictReader files fields beyond the header under None
            raise DatasetFormatError(f"{where}: {len(header) + len(row[None])} fields, but the "
                                     f"header has {len(header)}")
        try:
            tid, pid, cam = int(row["id"]), int(row["pid"]), int(row["camera"])
            entry, exit_ = float(row["entry_time"]), float(row["exit_time"])
        except (TypeError, ValueError) as exc:
            raise DatasetFormatError(f"{where}: {exc}") from None
        if tid < 0 or pid < 0 or cam < 1:
            raise DatasetFormatError(f"{where}: id {tid} and pid {pid} must be >= 0 and camera "
                                     f"{cam} >= 1 (1-based)")
        if not (math.isfinite(entry) and math.isfinite(exit_) and entry <= exit_):
            raise DatasetFormatError(f"{where}: entry_time {entry} / exit_time {exit_} are not "
                                     "finite with entry <= exit")
        if row["direction"] not in DIRECTIONS or row["split"] not in SPLITS:
            raise DatasetFormatError(f"{where}: direction must be one of {DIRECTIONS} and split "
                                     f"one of {SPLITS}, got {row['direction']!r}, {row['split']!r}")
        key = f"{tid:04d}"
        if key in out:
            raise DatasetFormatError(f"{where}: duplicate tracklet id {tid}")
        out[key] = {"pid": pid, "camera": cam, "entry_time": entry, "exit_time": exit_,
                    "direction": row["direction"], "split": row["split"]}
    return out


@DATASETS.register("egoreid")
def read_egoreid(root) -> ReIDIndex:
    """Read an EgoReID copy at `root`: the common index plus sensor metadata."""
    root = os.fspath(root)
    require_dir(root, "EgoReID root")
    table_path = os.path.join(root, TABLE)
    table = read_tracklet_table(table_path)
    splits: dict[str, list[Tracklet]] = {}
    seen: set[str] = set()
    for split in SPLITS:
        out = []
        for t in read_duke_split(root, split, f"EgoReID {split} directory", num_cams=None):
            tid = t.meta["tracklet"]
            folder = os.path.dirname(t.frames[0])
            row = table.get(tid)
            if row is None:
                raise DatasetFormatError(f"tracklet folder {folder!r} has no row in {table_path!r}")
            if (row["pid"], row["camera"] - 1, row["split"]) != (t.pid, t.camid, split):
                raise DatasetFormatError(
                    f"tracklet folder {folder!r} (pid {t.pid}, camera {t.camid + 1}, {split}) "
                    f"disagrees with its row in {table_path!r} (pid {row['pid']}, camera "
                    f"{row['camera']}, {row['split']})")
            seen.add(tid)
            meta = {"tracklet": tid, **{k: row[k] for k in ("camera", "entry_time", "exit_time",
                                                             "direction")}}
            out.append(Tracklet(t.frames, t.pid, t.camid, meta))
        splits[split] = out
    orphans = sorted(set(table) - seen)
    if orphans:
        raise DatasetFormatError(f"{table_path!r} lists tracklet(s) {orphans[:5]} without a "
                                 "folder of frames")
    cams = sorted({row["camera"] for row in table.values()})
    sensors = {c - 1: read_sensor_csv(os.path.join(root, "sensors", f"cam{c}.csv")) for c in cams}
    return ReIDIndex(name="egoreid", root=root, train=splits["train"], query=splits["query"],
                     gallery=splits["gallery"], metadata={"sensors": sensors})
