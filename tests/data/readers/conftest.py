"""Fixtures that write tiny copies of each dataset in its exact on-disk layout.

Each `make_*` fixture is a factory: call it (optionally with a root) to write
the layout and get the root back; tests then break the copy as they need.
Images are tiny 8x4 JPEG / PNG files written with Pillow once and copied.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio
from PIL import Image


def _encode(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 8), (120, 30, 200)).save(buf, format=fmt)
    return buf.getvalue()


_BYTES = {".jpg": _encode("JPEG"), ".png": _encode("PNG")}


def write_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_BYTES[path.suffix.lower()])
    return path


@pytest.fixture
def image_writer():
    return write_image


# --------------------------------------------------------------------- MARS
# (pid string, camera, tracklet, number of frames) per track row, in order.
MARS_TRAIN = [("0001", 1, 1, 3), ("0001", 2, 2, 2), ("0002", 1, 1, 2)]
MARS_TEST = [
    ("0003", 1, 1, 2),  # row 1: query
    ("0003", 2, 1, 3),  # row 2: gallery
    ("0004", 3, 1, 2),  # row 3: query
    ("0004", 1, 2, 1),  # row 4: gallery
    ("0000", 2, 1, 2),  # row 5: distractor -> gallery
    ("00-1", 1, 1, 2),  # row 6: junk -> skipped
]
MARS_QUERY = [1, 3]


def _mars_split(root: Path, split: str, rows) -> None:
    names, info = [], []
    for pid, cam, trk, nframes in rows:
        start = len(names) + 1
        for f in range(1, nframes + 1):
            names.append(f"{pid}C{cam}T{trk:04d}F{f:03d}.jpg")
        info.append([start, len(names), -1 if pid == "00-1" else int(pid), cam])
    for name in names:
        write_image(root / f"bbox_{split}" / name[:4] / name)
    (root / "info").mkdir(parents=True, exist_ok=True)
    (root / "info" / f"{split}_name.txt").write_text("\n".join(names) + "\n")
    sio.savemat(root / "info" / f"tracks_{split}_info.mat", {f"track_{split}_info": np.array(info, dtype=float)})


@pytest.fixture
def make_mars(tmp_path):
    def make(root: Path | None = None, query_column: bool = False) -> Path:
        root = Path(root or tmp_path / "MARS")
        _mars_split(root, "train", MARS_TRAIN)
        _mars_split(root, "test", MARS_TEST)
        q = np.array(MARS_QUERY, dtype=float)
        q = q.reshape(-1, 1) if query_column else q.reshape(1, -1)
        sio.savemat(root / "info" / "query_IDX.mat", {"query_IDX": q})
        return root

    return make


# ------------------------------------------------------- DukeMTMC-VideoReID
# split -> pid -> tracklet id -> (camera, frame numbers in the order written)
DUKE = {
    "train": {
        1: {1: (1, [9999, 10000, 9998]), 2: (2, [5, 3, 4])},
        2: {5: (1, []), 6: (3, [12])},  # tracklet 0005 is an empty folder
    },
    "query": {3: {1: (2, [40, 41])}},
    "gallery": {3: {2: (5, [70, 69])}, 4: {1: (8, [1])}},
}


@pytest.fixture
def make_duke(tmp_path):
    def make(root: Path | None = None) -> Path:
        root = Path(root or tmp_path / "DukeMTMC-VideoReID")
        for split, pids in DUKE.items():
            for pid, tracklets in pids.items():
                for tid, (cam, frames) in tracklets.items():
                    tdir = root / split / f"{pid:04d}" / f"{tid:04d}"
                    tdir.mkdir(parents=True, exist_ok=True)
                    for i, f in enumerate(frames):
                        write_image(tdir / f"{pid:04d}_C{cam}_F{f:04d}_X{i + 1:05d}.jpg")
        (root / "train" / "0001" / "0001" / "Thumbs.db").write_bytes(b"junk")
        return root

    return make


# ---------------------------------------------------------------- iLIDS-VID
ILIDS_PERSONS = [1, 2, 4, 7, 10, 11]  # gaps, as in the real set


def ilids_ls_set() -> np.ndarray:
    """10 x 6, 1-based indices into the sorted person list; row k is a rotation by k."""
    base = np.arange(1, len(ILIDS_PERSONS) + 1)
    return np.stack([np.roll(base, k) for k in range(10)]).astype(float)


@pytest.fixture
def make_ilids(tmp_path):
    def make(root: Path | None = None, split_file: bool = True) -> Path:
        root = Path(root or tmp_path / "iLIDS-VID")
        for cam in (1, 2):
            for p in ILIDS_PERSONS:
                for f in (317, 45, 100):  # written out of order
                    write_image(
                        root / "i-LIDS-VID" / "sequences" / f"cam{cam}" / f"person{p:03d}"
                        / f"cam{cam}_person{p:03d}_{f:05d}.png"
                    )
        if split_file:
            sdir = root / "train-test people splits"
            sdir.mkdir(parents=True, exist_ok=True)
            sio.savemat(sdir / "train_test_splits_ilidsvid.mat", {"ls_set": ilids_ls_set()})
        return root

    return make


# ----------------------------------------------------------------- PRID2011
PRID_CAM_A = [1, 2, 3, 4, 5, 6, 7, 8]
PRID_CAM_B = [1, 2, 3, 4, 5, 6, 9]
PRID_COMMON = [1, 2, 3, 4, 5, 6]


def prid_splits() -> list[dict]:
    return [
        {"train": [p for p in PRID_COMMON if (p + k) % 2 == 0], "test": [p for p in PRID_COMMON if (p + k) % 2 == 1]}
        for k in range(10)
    ]


@pytest.fixture
def make_prid(tmp_path):
    def make(root: Path | None = None, splits: list | None | bool = True,
             frames: dict | None = None) -> Path:
        """`frames` maps (cam, person) to a frame count; without a split file every
        sequence gets 22 frames (the fallback protocol keeps > 21 frames), else 3."""
        root = Path(root or tmp_path / "PRID2011")
        default = (10, 2, 1) if splits else tuple(range(22, 0, -1))
        for cam, persons in (("cam_a", PRID_CAM_A), ("cam_b", PRID_CAM_B)):
            for p in persons:
                n = (frames or {}).get((cam, p))
                for f in (default if n is None else range(n, 0, -1)):
                    write_image(root / "prid_2011" / "multi_shot" / cam / f"person_{p:04d}" / f"{f:04d}.png")
        if splits is True:
            splits = prid_splits()
        if splits:
            (root / "splits_prid2011.json").write_text(json.dumps(splits))
        return root

    return make


# -------------------------------------------------------------- Market-1501
MARKET = {
    "bounding_box_train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000551_01.jpg", "0007_c3s3_015240_04.jpg"],
    "bounding_box_test": ["0000_c1s1_000001_01.jpg", "-1_c2s1_000002_01.jpg", "0003_c6s2_000003_02.jpg",
                          "0004_c5s1_000004_01.jpg"],
    "query": ["0003_c1s1_000005_00.jpg", "0004_c2s1_000006_00.jpg"],
}


@pytest.fixture
def make_market(tmp_path):
    def make(root: Path | None = None) -> Path:
        root = Path(root or tmp_path / "Market-1501")
        for sub, names in MARKET.items():
            for name in names:
                write_image(root / sub / name)
            (root / sub / "Thumbs.db").write_bytes(b"junk")
        return root

    return make


# ---------------------------------------------------------------------- LIP
LIP_IDS = {"train": ["77_471474", "100034_483681", "3_1"], "val": ["10_1", "9_2"]}


@pytest.fixture
def make_lip(tmp_path):
    def make(root: Path | None = None) -> Path:
        root = Path(root or tmp_path / "LIP")
        for split, ids in LIP_IDS.items():
            for i in ids:
                write_image(root / "TrainVal_images" / f"{split}_images" / f"{i}.jpg")
                write_image(root / "TrainVal_parsing_annotations" / f"{split}_segmentations" / f"{i}.png")
            (root / "TrainVal_images" / f"{split}_id.txt").write_text("\n".join(ids) + "\n")
        return root

    return make


# ------------------------------------------------------------------ EgoReID
# id -> (pid, camera, entry, exit, direction, split, frame numbers)
EGOREID = {
    1: (1, 1, 0.0, 1.0, "towards", "train", [0, 15, 30]),
    2: (1, 2, 5.0, 6.0, "away", "train", [150, 165]),
    3: (3, 1, 1.0, 2.0, "away", "query", [30, 45]),
    4: (3, 3, 8.0, 9.5, "towards", "gallery", [285, 240, 270]),
    5: (4, 2, 2.0, 3.0, "towards", "gallery", [60]),
}


def egoreid_sensor_columns(n: int = 25, rate: float = 2.0) -> dict:
    from vreid.data.sensors import SENSOR_COLUMNS

    cols = {c: np.zeros(n) for c in SENSOR_COLUMNS}
    cols["time_s"] = np.arange(n) / rate
    cols["latitude_deg"] = 40.0 + np.arange(n) * 1e-6
    cols["longitude_deg"] = np.full(n, -83.0)
    cols["speed_mps"] = np.full(n, 0.5)
    return cols


@pytest.fixture
def make_egoreid(tmp_path):
    def make(root: Path | None = None) -> Path:
        from vreid.data.sensors import format_sensor_csv

        root = Path(root or tmp_path / "EgoReID")
        rows = ["id,pid,camera,entry_time,exit_time,direction,split"]
        for tid, (pid, cam, entry, exit_, direction, split, frames) in EGOREID.items():
            rows.append(f"{tid},{pid},{cam},{entry},{exit_},{direction},{split}")
            for f in frames:
                write_image(root / split / f"{pid:04d}" / f"{tid:04d}" / f"{pid:04d}_C{cam}_F{f:06d}_X0.jpg")
        (root / "tracklets.csv").write_text("\n".join(rows) + "\n")
        (root / "sensors").mkdir()
        for cam in (1, 2, 3):
            (root / "sensors" / f"cam{cam}.csv").write_text(format_sensor_csv(egoreid_sensor_columns()))
        return root

    return make
