"""Fingerprints: what a run, an evaluation set or a dataset is, as a short hash."""

import shutil

import pytest

from vreid.config import DatasetRef
from vreid.data.index import Tracklet
from vreid.pipeline.fingerprint import dataset_digest, tracklets_fingerprint, tree_digest


def _set(root, sizes):
    root.mkdir(parents=True, exist_ok=True)
    frames = []
    for i, size in enumerate(sizes):
        path = root / f"f{i}.jpg"
        path.write_bytes(b"x" * size)
        frames.append(str(path))
    return [Tracklet(tuple(frames[:2]), pid=1, camid=0), Tracklet(tuple(frames[2:]), 2, 1)]


def test_tracklets_fingerprint_follows_files_ids_and_cameras_not_the_root(tmp_path):
    a = _set(tmp_path / "a", [10, 11, 12])
    base = tracklets_fingerprint(a, tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the same set elsewhere
    moved = [Tracklet(tuple(f.replace("/a/", "/b/") for f in t.frames), t.pid, t.camid)
             for t in a]
    assert tracklets_fingerprint(moved, tmp_path / "b") == base
    relabelled = [a[0], Tracklet(a[1].frames, pid=3, camid=1)]
    assert tracklets_fingerprint(relabelled, tmp_path / "a") != base
    other_cam = [a[0], Tracklet(a[1].frames, pid=2, camid=2)]
    assert tracklets_fingerprint(other_cam, tmp_path / "a") != base
    (tmp_path / "a" / "f2.jpg").write_bytes(b"y" * 13)  # a frame replaced by another
    assert tracklets_fingerprint(a, tmp_path / "a") != base


def make_tree(root):
    (root / "a").mkdir(parents=True)
    (root / "a/1.jpg").write_bytes(b"one")
    (root / "2.jpg").write_bytes(b"two")
    return root


def test_tree_digest_follows_content_names_and_additions_not_rewrites(tmp_path):
    root = make_tree(tmp_path / "set")
    digest = tree_digest(root)
    (root / "2.jpg").write_bytes(b"two")  # same bytes rewritten: same data
    assert tree_digest(root) == digest
    (root / "2.jpg").write_bytes(b"TWO")
    edited = tree_digest(root)
    assert edited != digest
    (root / "2.jpg").rename(root / "3.jpg")
    assert tree_digest(root) != edited
    (root / "a/new.jpg").write_bytes(b"new")
    assert len({digest, edited, tree_digest(root)}) == 3
    assert tree_digest(make_tree(tmp_path / "copy")) == digest  # location does not matter


def test_dataset_digest_covers_every_source_of_a_union(tmp_path):
    one, two = make_tree(tmp_path / "one"), make_tree(tmp_path / "two")
    union = DatasetRef("union", sources=(DatasetRef("market1501", str(one)),
                                         DatasetRef("market1501", str(two))))
    before = dataset_digest(union)
    assert before != dataset_digest(DatasetRef("market1501", str(one)))
    (two / "2.jpg").write_bytes(b"changed")
    assert dataset_digest(union) != before


def test_missing_dataset_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: dataset folder not found"):
        dataset_digest(DatasetRef("mars", str(tmp_path / "nowhere")))
