"""Tiny on-disk datasets for the validation tests, built with Pillow in tmp_path."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from vreid.data.index import ParsingIndex, ParsingSample, ReIDIndex, Tracklet


def write_jpeg(path, size=(8, 16), value=128):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new("RGB", size, (value, 255 - value, 64)).save(path, "JPEG", quality=90)


def truncate(path, keep=0.5):
    data = open(path, "rb").read()
    with open(path, "wb") as fh:
        fh.write(data[: int(len(data) * keep)])


def make_tracklet(root, folder, pid, camid, tid, n=2):
    frames = []
    for f in range(1, n + 1):
        rel = f"{folder}/{pid:04d}/{pid:04d}C{camid + 1}T{tid:04d}F{f:03d}.jpg"
        write_jpeg(os.path.join(root, rel), value=(pid * 37 + f * 11) % 256)
        frames.append(rel)
    return Tracklet(frames=tuple(frames), pid=pid, camid=camid, meta={"dir": f"{folder}/{pid:04d}"})


def build_reid(root) -> ReIDIndex:
    """Clean MARS-like index: 2 cams; train pids 1, 2; test pids 3, 4; gallery distractor pid 0."""
    root = str(root)
    train = [
        make_tracklet(root, "bbox_train", 1, 0, 1),
        make_tracklet(root, "bbox_train", 1, 1, 2),
        make_tracklet(root, "bbox_train", 2, 0, 3),
        make_tracklet(root, "bbox_train", 2, 1, 4),
    ]
    query = [
        make_tracklet(root, "bbox_test", 3, 0, 1),
        make_tracklet(root, "bbox_test", 4, 0, 2),
    ]
    gallery = [
        make_tracklet(root, "bbox_test", 3, 1, 3),
        make_tracklet(root, "bbox_test", 4, 1, 4),
        make_tracklet(root, "bbox_test", 4, 0, 5),
        make_tracklet(root, "bbox_test", 0, 1, 6),
    ]
    return ReIDIndex(name="tiny-mars", root=root, train=train, query=query, gallery=gallery)


def make_pair(root, split, i, size=(6, 10), top=19):
    img_rel = f"{split}_images/{i:05d}.jpg"
    lab_rel = f"{split}_segmentations/{i:05d}.png"
    write_jpeg(os.path.join(root, img_rel), size=size)
    w, h = size
    lab = (np.arange(w * h).reshape(h, w) % (top + 1)).astype(np.uint8)
    os.makedirs(os.path.join(root, f"{split}_segmentations"), exist_ok=True)
    Image.fromarray(lab).save(os.path.join(root, lab_rel))
    return ParsingSample(image=img_rel, label=lab_rel)


def build_parsing(root) -> ParsingIndex:
    root = str(root)
    train = [make_pair(root, "train", i) for i in range(3)]
    val = [make_pair(root, "val", i) for i in range(2)]
    return ParsingIndex(name="tiny-lip", root=root, train=train, val=val)


@pytest.fixture
def reid_index(tmp_path):
    return build_reid(tmp_path / "mars")


@pytest.fixture
def parsing_index(tmp_path):
    return build_parsing(tmp_path / "lip")


@pytest.fixture
def helpers():
    """The builders above, for tests (conftest modules are not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        write_jpeg=write_jpeg,
        truncate=truncate,
        make_tracklet=make_tracklet,
        make_pair=make_pair,
        build_reid=build_reid,
        build_parsing=build_parsing,
    )
