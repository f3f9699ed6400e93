import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from vreid.data.synth import (
    Difficulty,
    ImageSetConfig,
    ParsingSetConfig,
    RenderConfig,
    VideoSetConfig,
    write_lip,
    write_market1501,
    write_mars,
)
from vreid.data.synth import layouts

R = RenderConfig(height=64, width=32)
D = Difficulty()
VIDEO = VideoSetConfig(num_train_ids=4, num_test_ids=5, num_cams=4, cams_per_id=(2, 3), tracklets_per_cam=(1, 2),
                       frames=(2, 4), num_distractors=2, num_junk=2)
IMAGES = ImageSetConfig(num_train_ids=4, num_test_ids=5, num_cams=4, cams_per_id=(2, 3), images_per_cam=(2, 3),
                        num_distractors=3, num_junk=2)
PARSING = ParsingSetConfig(num_train=5, num_val=3, height=(48, 64), width=(24, 40))


def _digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def mars(tmp_path_factory):
    root = tmp_path_factory.mktemp("m") / "MARS"
    counts = write_mars(root, VIDEO, R, D, seed=7)
    return root, counts


MARS_NAME = re.compile(r"^(\d{4}|00-1)C([1-6])T(\d{4})F(\d{3})\.jpg$")


def test_mars_layout(mars):
    root, counts = mars
    assert sorted(p.name for p in root.iterdir()) == ["attributes.csv", "bbox_test", "bbox_train", "info"]
    pid_sets = {}
    for split, folder in (("train", "bbox_train"), ("test", "bbox_test")):
        names = (root / "info" / f"{split}_name.txt").read_text().splitlines()
        info = scipy.io.loadmat(root / "info" / f"tracks_{split}_info.mat")[f"track_{split}_info"]
        assert info.dtype == np.int32 and info.ndim == 2 and info.shape[1] == 4  # as the public files
        assert info.shape[0] == counts[split]["tracklets"] and len(names) == counts[split]["frames"]
        assert int(info[0, 0]) == 1 and int(info[-1, 1]) == len(names)
        assert np.all(info[1:, 0] == info[:-1, 1] + 1)  # contiguous, 1-based, inclusive
        for start, end, pid, cam in info:
            block = names[int(start) - 1:int(end)]
            assert 1 <= cam <= VIDEO.num_cams
            tracks = set()
            for f, name in enumerate(block, start=1):
                m = MARS_NAME.match(name)
                assert m, name
                assert (-1 if m.group(1) == "00-1" else int(m.group(1))) == int(pid)
                assert int(m.group(2)) == int(cam) and int(m.group(4)) == f
                tracks.add(m.group(3))
                path = root / folder / m.group(1) / name
                assert path.is_file()
            assert len(tracks) == 1 and VIDEO.frames[0] <= len(block) <= VIDEO.frames[1]
        with Image.open(root / folder / names[0][:4] / names[0]) as im:
            assert im.format == "JPEG" and im.size == (R.width, R.height) and im.mode == "RGB"
        files = sorted(p.name for p in (root / folder).rglob("*.jpg"))
        assert files == sorted(names)
        pid_sets[split] = {int(p) for p in info[:, 2]}
        # every identity appears in >= 2 cameras
        for pid in pid_sets[split] - {0, -1}:
            assert len({int(c) for c in info[info[:, 2] == pid, 3]}) >= 2
    assert 0 not in pid_sets["train"] and -1 not in pid_sets["train"]
    assert {0, -1} <= pid_sets["test"]
    assert not (pid_sets["train"] & pid_sets["test"])
    assert len(pid_sets["train"]) == 4 and len(pid_sets["test"] - {0, -1}) == 5
    assert (root / "bbox_test" / "00-1").is_dir() and (root / "bbox_test" / "0000").is_dir()


def test_mars_query(mars):
    root, counts = mars
    info = scipy.io.loadmat(root / "info" / "tracks_test_info.mat")["track_test_info"]
    q = scipy.io.loadmat(root / "info" / "query_IDX.mat")["query_IDX"]
    assert q.dtype == np.int32 and q.shape == (1, 5)  # a 1 x Q integer row, as the public file
    qi = q.ravel() - 1
    assert qi.min() >= 0 and qi.max() < len(info)
    gallery = np.setdiff1d(np.arange(len(info)), qi)
    assert len(gallery) == counts["test"]["gallery"]
    assert sorted(int(info[i, 2]) for i in qi) == sorted({int(p) for p in info[:, 2]} - {0, -1})
    for i in qi:
        pid, cam = info[i, 2], info[i, 3]
        g = info[gallery]
        assert np.any((g[:, 2] == pid) & (g[:, 3] != cam))
    assert set(info[qi, 2]) & {0, -1} == set()


def test_mars_deterministic(mars, tmp_path):
    root, _ = mars
    again = tmp_path / "again"
    write_mars(again, VIDEO, R, D, seed=7)
    assert _digest(again) == _digest(root)
    other = tmp_path / "other"
    write_mars(other, VIDEO, R, D, seed=8)
    a, b = _digest(root), _digest(other)
    shared = set(a) & set(b)
    assert any(a[k] != b[k] for k in shared if k.endswith(".jpg"))


MARKET_NAME = re.compile(r"^(\d{4}|-1)_c([1-6])s([1-6])_(\d{6})_(\d{2})\.jpg$")


def test_market_layout_and_determinism(tmp_path):
    root = tmp_path / "Market-1501"
    counts = write_market1501(root, IMAGES, R, D, seed=3)
    assert sorted(p.name for p in root.iterdir()) == ["bounding_box_test", "bounding_box_train", "query"]
    pids = {}
    cams = {}
    for sub in ("bounding_box_train", "bounding_box_test", "query"):
        files = sorted((root / sub).iterdir())
        pids[sub] = set()
        cams[sub] = set()
        for p in files:
            m = MARKET_NAME.match(p.name)
            assert m, p.name
            pid = int(m.group(1))
            pids[sub].add(pid)
            cams[sub].add((pid, int(m.group(2))))
        with Image.open(files[0]) as im:
            assert im.format == "JPEG" and im.size == (R.width, R.height)
    assert len(list((root / "bounding_box_train").iterdir())) == counts["train"]["images"]
    assert len(list((root / "query").iterdir())) == counts["test"]["query_images"]
    assert len(list((root / "bounding_box_test").iterdir())) == counts["test"]["gallery_images"]
    assert {0, -1} <= pids["bounding_box_test"]
    assert not ({0, -1} & (pids["query"] | pids["bounding_box_train"]))
    assert not (pids["bounding_box_train"] & pids["bounding_box_test"])
    assert pids["query"] == pids["bounding_box_test"] - {0, -1}
    # one query image per identity and camera; each query has a gallery match in another camera
    qnames = [p.name for p in (root / "query").iterdir()]
    assert len(qnames) == len({n.split("s")[0] for n in qnames})
    for pid, cam in cams["query"]:
        assert any(p == pid and c != cam for p, c in cams["bounding_box_test"])
    again = tmp_path / "again"
    write_market1501(again, IMAGES, R, D, seed=3)
    assert _digest(again) == _digest(root)


def test_market_and_mars_identities_differ():
    from vreid.data.synth import sample_identity

    for pid in range(1, 6):
        a = sample_identity(layouts._rng(7, layouts._MARS, layouts._S_ID, pid), D)
        b = sample_identity(layouts._rng(7, layouts._MARKET, layouts._S_ID, pid), D)
        assert a != b


def test_lip_layout_and_determinism(tmp_path):
    root = tmp_path / "LIP"
    counts = write_lip(root, PARSING, R, D, seed=1)
    assert counts == {"train": {"images": 5}, "val": {"images": 3}}
    sizes = set()
    for split, n in (("train", 5), ("val", 3)):
        ids = (root / "TrainVal_images" / f"{split}_id.txt").read_text().splitlines()
        assert len(ids) == n and len(set(ids)) == n
        for i in ids:
            assert re.match(r"^\d{6}_\d{6}$", i)
            with Image.open(root / "TrainVal_images" / f"{split}_images" / f"{i}.jpg") as im:
                assert im.format == "JPEG" and im.mode == "RGB"
                size = im.size
            with Image.open(root / "TrainVal_parsing_annotations" / f"{split}_segmentations" / f"{i}.png") as lab:
                assert lab.format == "PNG" and lab.mode == "L" and lab.size == size
                arr = np.asarray(lab)
            assert arr.max() <= 19 and (arr > 0).any()
            assert PARSING.height[0] <= size[1] <= PARSING.height[1] and PARSING.width[0] <= size[0] <= PARSING.width[1]
            sizes.add(size)
    assert len(sizes) > 1
    again = tmp_path / "again"
    write_lip(again, PARSING, R, D, seed=1)
    assert _digest(again) == _digest(root)
    other = tmp_path / "other"
    write_lip(other, PARSING, R, D, seed=2)
    assert _digest(other) != _digest(root)


@pytest.mark.parametrize("writer,cfg", [(write_mars, VIDEO), (write_market1501, IMAGES), (write_lip, PARSING)])
def test_atomic_replace(tmp_path, monkeypatch, writer, cfg):
    root = tmp_path / "out"
    writer(root, cfg, R, D, seed=1)
    before = _digest(root)
    calls = {"n": 0}
    real = layouts._save_jpg

    def failing(*a, **k):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("disk full")
        return real(*a, **k)

    monkeypatch.setattr(layouts, "_save_jpg", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        writer(root, cfg, R, D, seed=2)
    assert _digest(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary leftovers
    monkeypatch.setattr(layouts, "_save_jpg", real)
    writer(root, cfg, R, D, seed=2)  # a successful run replaces the old copy
    assert _digest(root) != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
