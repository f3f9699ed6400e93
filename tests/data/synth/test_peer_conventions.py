"""The embedded sets read the way code written against the PUBLIC files reads them.

Issue 17: the established video re-ID library indexed our MARS layout with the loaded
.mat arrays as they stand (``track_test[query_IDX - 1, :]``) and failed, because we
wrote float64 where the real files hold integers; our own reader converts whole-number
floats, so its tests could not see it. Each ``_peer_*`` function below is our own small
re-implementation of the documented conventions of such code (no casts where that code
has none); each test then checks that our reader yields exactly the same tracklets.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil

import numpy as np
import pytest
import scipy.io
from PIL import Image

from vreid.data.readers import read_ilids_vid, read_lip, read_market1501, read_mars, read_prid2011
from vreid.data.synth import (
    ImageSetConfig,
    ParsingSetConfig,
    RenderConfig,
    VideoSetConfig,
    write_lip,
    write_market1501,
    write_mars,
)
from vreid.data.synth.config import TwoCameraSetConfig
from vreid.data.synth.layouts import save_mat
from vreid.data.synth.smallsets import write_ilids_vid, write_prid2011

R = RenderConfig(height=32, width=16)
VIDEO = VideoSetConfig(num_train_ids=4, num_test_ids=5, num_cams=4, cams_per_id=(2, 3), tracklets_per_cam=(1, 2),
                       frames=(2, 4), num_distractors=2, num_junk=2)
IMAGES = ImageSetConfig(num_train_ids=4, num_test_ids=5, num_cams=6, cams_per_id=(2, 3), images_per_cam=(2, 3),
                        num_distractors=3, num_junk=2)
PARSING = ParsingSetConfig(num_train=3, num_val=2, height=(40, 56), width=(20, 32))
TWO_CAM = TwoCameraSetConfig(num_persons=6, frames=(1, 3))


def _ours(index) -> dict:
    return {s: [(t.frames, t.pid, t.camid) for t in getattr(index, s)] for s in ("train", "query", "gallery")}


def _relative(tracklets: dict, root: str) -> dict:
    return {s: [(tuple(os.path.relpath(f, root) for f in fr), p, c) for fr, p, c in ts] for s, ts in tracklets.items()}


# ------------------------------------------------------------------------------ MARS
def _peer_mars(root: str) -> dict:
    info = os.path.join(root, "info")

    def names(split):
        with open(os.path.join(info, f"{split}_name.txt")) as fh:
            return [line.rstrip() for line in fh if line.strip()]

    def mat(name, key):
        arr = scipy.io.loadmat(os.path.join(info, name))[key]
        assert arr.dtype.kind in "iu", f"{name}: {key} is {arr.dtype}, the public file holds integers"
        return arr

    track_train = mat("tracks_train_info.mat", "track_train_info")
    track_test = mat("tracks_test_info.mat", "track_test_info")
    query_idx = mat("query_IDX.mat", "query_IDX")
    assert track_train.shape[1] == track_test.shape[1] == 4
    assert query_idx.ndim == 2 and query_idx.shape[0] == 1  # a row vector, as the public file
    query_idx = query_idx.squeeze(0)
    query_idx -= 1  # in place, 1-based -> 0-based
    track_query = track_test[query_idx, :]  # the loaded array as an index: integers only
    taken = set(query_idx.tolist())
    track_gallery = track_test[[i for i in range(track_test.shape[0]) if i not in taken], :]

    def tracklets(rows, split, relabel):
        split_names = names(split)
        labels = {p: k for k, p in enumerate(set(rows[:, 2].tolist()) - {-1})} if relabel else None
        out = []
        for start, end, pid, camid in rows:
            if pid == -1:  # junk
                continue
            block = split_names[start - 1:end]  # loaded values as slice bounds, no cast
            assert block and {n[:4] for n in block} == {f"{pid:04d}"}, block
            assert {n[5] for n in block} == {str(camid)}, block
            paths = tuple(os.path.join(root, f"bbox_{split}", n[:4], n) for n in block)
            assert all(os.path.isfile(p) for p in paths)
            out.append((paths, int(pid), int(camid) - 1, labels[pid] if relabel else None))
        return out

    return {"train": tracklets(track_train, "train", True), "query": tracklets(track_query, "test", False),
            "gallery": tracklets(track_gallery, "test", False)}


@pytest.fixture(scope="module")
def mars(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("peer") / "MARS")
    return root, write_mars(root, VIDEO, R, seed=11)


def test_mars_reads_as_the_public_files_are_read(mars):
    root, counts = mars
    peer, ours = _peer_mars(root), _ours(read_mars(root))
    for split in ("train", "query", "gallery"):
        assert [t[:3] for t in peer[split]] == ours[split], split  # same tracklets, same order
    labels = [t[3] for t in peer["train"]]
    assert sorted(set(labels)) == list(range(VIDEO.num_train_ids))
    assert len({(pid, lab) for _, pid, _, lab in peer["train"]}) == VIDEO.num_train_ids  # one label per pid
    assert len(peer["query"]) == counts["test"]["query"]
    assert len(peer["gallery"]) == counts["test"]["gallery"] - counts["test"]["junk_tracklets"]
    assert counts["test"]["junk_tracklets"] > 0 and any(pid == 0 for _, pid, _, _ in peer["gallery"])
    assert sum(len(t[0]) for t in peer["train"]) == counts["train"]["frames"]


def test_mars_reader_output_does_not_depend_on_the_mat_dtype(mars, tmp_path):
    """Whole-number float copies (what `prepare` wrote before issue 17, and what some users'
    copies hold) read to the very same index: the dtype fix changes no tracklet."""
    root, _ = mars
    copy = str(tmp_path / "MARS")
    shutil.copytree(root, copy)
    for name, key in (("tracks_train_info.mat", "track_train_info"), ("tracks_test_info.mat", "track_test_info"),
                      ("query_IDX.mat", "query_IDX")):
        path = os.path.join(copy, "info", name)
        save_mat(path, key, scipy.io.loadmat(path)[key].astype(np.float64))
        assert scipy.io.loadmat(path)[key].dtype == np.float64
    assert _relative(_ours(read_mars(copy)), copy) == _relative(_ours(read_mars(root)), root)
    with pytest.raises(IndexError):  # and why the float files failed the peer convention
        scipy.io.loadmat(os.path.join(copy, "info", "tracks_test_info.mat"))["track_test_info"][
            scipy.io.loadmat(os.path.join(copy, "info", "query_IDX.mat"))["query_IDX"].squeeze() - 1, :]


# ------------------------------------------------------------------------ Market-1501
_MARKET_PID_CAM = re.compile(r"([-\d]+)_c(\d)")


def _peer_market(root: str, sub: str) -> list:
    out = []
    for path in glob.glob(os.path.join(root, sub, "*.jpg")):
        pid, camid = (int(g) for g in _MARKET_PID_CAM.search(os.path.basename(path)).groups())
        if pid == -1:  # junk
            continue
        assert 0 <= pid <= 1501 and 1 <= camid <= 6, path
        out.append(((path,), pid, camid - 1))
    return out


def test_market1501_reads_as_the_public_files_are_read(tmp_path):
    root = str(tmp_path / "Market-1501")
    counts = write_market1501(root, IMAGES, R, seed=11)
    names = [os.path.basename(p) for p in glob.glob(os.path.join(root, "*", "*.jpg"))]
    assert all(re.fullmatch(r"(\d{4}|-1)_c[1-6]s[1-6]_\d{6}_\d{2}\.jpg", n) for n in names), names
    ours = _ours(read_market1501(root))
    # glob order is arbitrary in the peer convention; ours is name order
    for split, sub in (("train", "bounding_box_train"), ("query", "query"), ("gallery", "bounding_box_test")):
        assert sorted(_peer_market(root, sub)) == sorted(ours[split]), sub
    gallery = _peer_market(root, "bounding_box_test")
    assert len(gallery) == counts["test"]["gallery_images"] - counts["test"]["junk_images"]
    assert counts["test"]["junk_images"] > 0 and any(n.startswith("-1_") for n in names)
    assert any(pid == 0 for _, pid, _ in gallery)  # distractors 0000 kept


# -------------------------------------------------------------------------- iLIDS-VID
def _frames(directory: str) -> tuple:
    return tuple(sorted(glob.glob(os.path.join(directory, "*.png"))))


def _peer_ilids_vid(root: str) -> list:
    ls_set = scipy.io.loadmat(os.path.join(root, "train-test people splits", "train_test_splits_ilidsvid.mat"))["ls_set"]
    seq = os.path.join(root, "i-LIDS-VID", "sequences")
    cam1 = sorted(os.path.basename(p) for p in glob.glob(os.path.join(seq, "cam1", "*")))
    cam2 = sorted(os.path.basename(p) for p in glob.glob(os.path.join(seq, "cam2", "*")))
    assert cam1 == cam2
    half = ls_set.shape[1] // 2
    splits = []
    for row in ls_set:
        # Wang et al. ECCV'14: first half of a row = TEST persons, second half = TRAIN;
        # entries are 1-based positions in the sorted person folders
        test, train = ([cam1[int(i) - 1] for i in part] for part in (row[:half], row[half:]))

        def seqs(persons, cams):
            return [(_frames(os.path.join(seq, f"cam{c + 1}", p)), int(p[len("person"):]), c)
                    for p in persons for c in cams]

        splits.append({"train": seqs(train, (0, 1)), "query": seqs(test, (0,)), "gallery": seqs(test, (1,))})
    return splits


def test_ilids_vid_reads_as_the_public_files_are_read(tmp_path):
    root = str(tmp_path / "ilids")
    write_ilids_vid(root, TWO_CAM, R, seed=11)
    ls_set = scipy.io.loadmat(os.path.join(root, "train-test people splits", "train_test_splits_ilidsvid.mat"))["ls_set"]
    # public file: 10 x persons MATLAB double holding whole person numbers 1..N (kept as is)
    assert ls_set.shape == (TWO_CAM.num_splits, TWO_CAM.num_persons) and ls_set.dtype == np.float64
    assert all(sorted(row) == list(range(1, TWO_CAM.num_persons + 1)) for row in ls_set.tolist())
    persons = sorted(os.listdir(os.path.join(root, "i-LIDS-VID", "sequences", "cam1")))
    assert persons == [f"person{p:03d}" for p in range(1, TWO_CAM.num_persons + 1)]
    peer = _peer_ilids_vid(root)
    assert len(peer) == TWO_CAM.num_splits
    for k, split in enumerate(peer):
        ours = _ours(read_ilids_vid(root, split_id=k))
        for part in ("train", "query", "gallery"):
            # the peer sorts each half; order within a split enters no metric
            assert sorted(split[part]) == sorted(ours[part]), (k, part)
        assert all(t[0] for t in split["train"])


# --------------------------------------------------------------------------- PRID2011
def _peer_prid2011(root: str) -> list:
    with open(os.path.join(root, "splits_prid2011.json")) as fh:
        splits = json.load(fh)
    ms = os.path.join(root, "prid_2011", "multi_shot")
    out = []
    for split in splits:
        for part in ("train", "test"):
            assert all(re.fullmatch(r"person_\d{4}", d) for d in split[part]), split[part]

        def seqs(dirs, cams):
            return [(_frames(os.path.join(ms, ("cam_a", "cam_b")[c], d)), int(d[len("person_"):]), c)
                    for d in dirs for c in cams]

        out.append({"train": seqs(split["train"], (0, 1)), "query": seqs(split["test"], (0,)),
                    "gallery": seqs(split["test"], (1,))})
    return out


def test_prid2011_reads_as_the_public_files_are_read(tmp_path):
    root = str(tmp_path / "prid")
    write_prid2011(root, TWO_CAM, R, seed=11)
    peer = _peer_prid2011(root)
    assert len(peer) == TWO_CAM.num_splits
    for k, split in enumerate(peer):
        assert _ours(read_prid2011(root, split_id=k)) == split, k  # same order too
    # numbers in place of names (other copies of the file) read to the same index
    path = os.path.join(root, "splits_prid2011.json")
    with open(path) as fh:
        named = json.load(fh)
    before = [_ours(read_prid2011(root, split_id=k)) for k in range(len(named))]
    numbered = [{p: [int(d[len("person_"):]) for d in s[p]] for p in ("train", "test")} for s in named]
    with open(path, "w") as fh:
        json.dump(numbered, fh)
    assert [_ours(read_prid2011(root, split_id=k)) for k in range(len(named))] == before


def test_ilids_vid_integer_split_file_reads_the_same(tmp_path):
    root = str(tmp_path / "ilids")
    write_ilids_vid(root, TWO_CAM, R, seed=12)
    path = os.path.join(root, "train-test people splits", "train_test_splits_ilidsvid.mat")
    before = [_ours(read_ilids_vid(root, split_id=k)) for k in range(TWO_CAM.num_splits)]
    save_mat(path, "ls_set", scipy.io.loadmat(path)["ls_set"].astype(np.int32))
    assert scipy.io.loadmat(path)["ls_set"].dtype == np.int32
    assert [_ours(read_ilids_vid(root, split_id=k)) for k in range(TWO_CAM.num_splits)] == before


# -------------------------------------------------------------------------------- LIP
def test_lip_reads_as_the_public_files_are_read(tmp_path):
    root = str(tmp_path / "LIP")
    write_lip(root, PARSING, R, seed=11)
    index = read_lip(root)
    for split, ours in (("train", index.train), ("val", index.val)):
        with open(os.path.join(root, "TrainVal_images", f"{split}_id.txt")) as fh:
            ids = [line.strip() for line in fh if line.strip()]
        pairs = [(os.path.join(root, "TrainVal_images", f"{split}_images", f"{i}.jpg"),
                  os.path.join(root, "TrainVal_parsing_annotations", f"{split}_segmentations", f"{i}.png"))
                 for i in ids]
        assert [(s.image, s.label) for s in ours] == pairs
        assert sorted(os.listdir(os.path.dirname(pairs[0][0]))) == sorted(f"{i}.jpg" for i in ids)
        for image, label in pairs:
            with Image.open(image) as im, Image.open(label) as lab:
                assert im.format == "JPEG" and im.mode == "RGB"
                assert lab.format == "PNG" and lab.mode in ("L", "P") and lab.size == im.size  # one channel
                arr = np.asarray(lab)
            assert arr.dtype == np.uint8 and arr.ndim == 2 and arr.max() <= 19  # class ids 0..19
