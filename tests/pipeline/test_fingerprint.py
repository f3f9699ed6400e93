"""Fingerprints: what a run or an evaluation set is, as a short hash."""

import shutil

from vreid.data.index import Tracklet
from vreid.pipeline.fingerprint import tracklets_fingerprint


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
