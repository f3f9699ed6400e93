"""Writers of the real datasets' on-disk layouts (MARS, Market-1501, LIP).

Every writer renders into a temporary sibling directory of ``root`` and renames it
into place only when everything was written, replacing an older copy; a failed run
leaves the previous output untouched.  Output is byte-identical for the same seed
and configs (fixed JPEG quality, fixed .mat header).

The MARS layout also gets `attributes.csv` (the accessories each identity was drawn
with; `vreid.data.readers.attributes` describes the format), which real MARS lacks.

Files carry the dtypes and shapes of the public ones, not only their values: MARS's
.mat arrays are integers (``track_*_info`` N x 4 int32, ``query_IDX`` a 1 x Q int32 row),
because code written against the real files indexes with them directly
(``track_test[query_IDX - 1, :]``, ``names[start - 1:end]``), which float arrays refuse.
tests/data/synth/test_peer_conventions.py reads every embedded set that way.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import scipy.io
from PIL import Image

from vreid.atomic import atomic_write_text
from vreid.data.readers.attributes import ATTRIBUTES_FILE, format_attributes

from .appearance import ACCESSORIES, Identity, identity_attributes, jitter_identity, sample_identity
from .camera import CameraStyle, render_frame, sample_camera_style, sample_nuisance
from .config import Difficulty, ImageSetConfig, ParsingSetConfig, RenderConfig, VideoSetConfig
from .render import VIEWS, Placement

__all__ = ["write_mars", "write_market1501", "write_lip", "atomic_directory", "save_mat"]

# seed streams: every random decision has its own named stream, so the datasets do not
# share identities and one part does not shift the draws of another
_MARS, _MARKET, _LIP = 1, 2, 3
_S_CAM, _S_SPLIT, _S_ID, _S_PLAN, _S_TRACK, _S_DISTRACT, _S_JUNK, _S_QUERY = range(10, 18)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in key])


@contextmanager
def atomic_directory(root: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary sibling of ``root``; on success it replaces ``root``."""
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        old: Optional[Path] = None
        if root.exists() or root.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
            os.rmdir(old)
            os.rename(root, old)
        try:
            os.rename(tmp, root)
        except BaseException:
            if old is not None:
                os.rename(old, root)
            raise
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_MAT_HEADER = b"MATLAB 5.0 MAT-file, written by vreid.data.synth"
# MARS's info arrays load as int32 from the public files (scipy.io.loadmat of
# tracks_train_info.mat gives rows like [1, 16, 1, 1], dtype int32).
MARS_MAT_DTYPE = np.int32


def save_mat(path: str | os.PathLike, key: str, array: np.ndarray) -> None:
    """scipy.io.savemat with a fixed header text (scipy stamps the creation time)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, {key: array}, do_compression=False, oned_as="row")
    data = bytearray(buf.getvalue())
    data[:116] = _MAT_HEADER.ljust(116, b" ")
    Path(path).write_bytes(bytes(data))


def _save_jpg(img: Image.Image, path: Path, render: RenderConfig) -> None:
    img.save(path, format="JPEG", quality=int(render.jpeg_quality))


def _rint(rng: np.random.Generator, lohi: tuple[int, int]) -> int:
    return int(rng.integers(lohi[0], lohi[1] + 1))


def _pick_view(style: CameraStyle, rng: np.random.Generator) -> str:
    return VIEWS[int(rng.choice(4, p=np.asarray(style.view_probs)))]


def _tracklet_setup(identity: Optional[Identity], style: CameraStyle, difficulty: Difficulty, render: RenderConfig,
                    rng: np.random.Generator, junk: bool = False):
    """Per-tracklet (identity with colour jitter, view, phase0, speed, nuisance)."""
    nz = sample_nuisance(style, difficulty, render.height, render.width, rng)
    view = _pick_view(style, rng)
    phase0 = float(rng.uniform(0, 2 * math.pi))
    speed = float(rng.uniform(0.45, 0.7))
    ident = identity
    if ident is not None:
        ident = jitter_identity(ident, np.random.default_rng(rng.integers(2**63)), difficulty.appearance_jitter)
    if junk:  # a bad detection: background only, a sliver of someone at the border, or a close-up part
        mode = int(rng.integers(3))
        p = nz.placement
        if mode == 0:
            ident, pl = None, p
        elif mode == 1:
            pl = Placement(float(rng.choice([-1.0, 1.0]) * rng.uniform(0.55, 0.8)), p.dy, p.scale)
        else:
            pl = Placement(p.dx, p.dy - 0.25, float(rng.uniform(1.8, 2.6)))
        nz = replace(nz, placement=pl)
    return ident, view, phase0, speed, nz


def _tracklet_frames(identity: Optional[Identity], style: CameraStyle, difficulty: Difficulty,
                     render: RenderConfig, frame_ts: list[int], rng: np.random.Generator, *, junk: bool = False):
    """Yield the RGB frames of one tracklet at time steps ``frame_ts``."""
    ident, view, phase0, speed, nz = _tracklet_setup(identity, style, difficulty, render, rng, junk)
    for t in frame_ts:
        img, _ = render_frame(ident, view, phase0 + speed * t, nz, t, rng)
        yield img


def _pid_str(pid: int) -> str:
    return "00-1" if pid == -1 else f"{pid:04d}"


def _split_pids(seed: int, stream: int, n_train: int, n_test: int) -> tuple[list[int], list[int]]:
    if n_train + n_test > 9999:
        raise ValueError("at most 9999 identities (4-digit pids)")
    perm = _rng(seed, stream, _S_SPLIT).permutation(np.arange(1, n_train + n_test + 1))
    return sorted(int(p) for p in perm[:n_train]), sorted(int(p) for p in perm[n_train:])


def write_mars(root: str | os.PathLike, video: VideoSetConfig = VideoSetConfig(), render: RenderConfig = RenderConfig(),
               difficulty: Difficulty = Difficulty(), seed: int = 0) -> dict:
    """Write a MARS-layout video re-ID set into ``root`` (replaced atomically).

    Returns counts per split: identities, tracklets, frames (test also query /
    gallery / distractor / junk tracklet counts).
    """
    S = _MARS
    styles = [sample_camera_style(c, difficulty, _rng(seed, S, _S_CAM, c)) for c in range(1, video.num_cams + 1)]
    train_pids, test_pids = _split_pids(seed, S, video.num_train_ids, video.num_test_ids)

    # plan: list of (pid, cam, tnum, nframes, kind, rng key)
    def plan_identity(pid: int) -> list[tuple]:
        r = _rng(seed, S, _S_PLAN, pid)
        k = _rint(r, (video.cams_per_id[0], min(video.cams_per_id[1], video.num_cams)))
        cams = sorted(int(c) + 1 for c in r.choice(video.num_cams, size=k, replace=False))
        out = []
        for c in cams:
            for t in range(1, _rint(r, video.tracklets_per_cam) + 1):
                out.append((pid, c, t, _rint(r, video.frames), "id", (pid, c, t)))
        return out

    train_plan = [x for p in train_pids for x in plan_identity(p)]
    test_plan = [x for p in test_pids for x in plan_identity(p)]
    counters: dict[tuple[int, int], int] = {}
    for kind, pid, n, stream in (("distractor", 0, video.num_distractors, _S_DISTRACT), ("junk", -1, video.num_junk, _S_JUNK)):
        for i in range(n):
            r = _rng(seed, S, stream, i)
            c = int(r.integers(1, video.num_cams + 1))
            counters[(pid, c)] = counters.get((pid, c), 0) + 1
            test_plan.append((pid, c, counters[(pid, c)], _rint(r, video.frames), kind, (stream, i)))
    test_plan.sort(key=lambda x: (_pid_str(x[0]), x[1], x[2]))

    identities: dict[int, Identity] = {}

    def ident_of(pid: int) -> Identity:
        if pid not in identities:
            identities[pid] = sample_identity(_rng(seed, S, _S_ID, pid), difficulty)
        return identities[pid]

    result: dict = {}
    with atomic_directory(root) as tmp:
        (tmp / "info").mkdir()
        for split, plan, folder in (("train", train_plan, "bbox_train"), ("test", test_plan, "bbox_test")):
            names: list[str] = []
            rows: list[list[int]] = []
            for pid, cam, tnum, n, kind, key in plan:
                r = _rng(seed, S, _S_TRACK, *key) if kind == "id" else _rng(seed, S, _S_TRACK, 10**6 + key[0], key[1])
                if kind == "id":
                    ident = ident_of(pid)
                else:  # distractors and junk: a fresh random person per tracklet
                    ident = sample_identity(np.random.default_rng(r.integers(2**63)), difficulty)
                d = tmp / folder / _pid_str(pid)
                d.mkdir(parents=True, exist_ok=True)
                start = len(names) + 1
                for f, img in enumerate(_tracklet_frames(ident, styles[cam - 1], difficulty, render, list(range(n)), r,
                                                         junk=kind == "junk"), start=1):
                    name = f"{_pid_str(pid)}C{cam}T{tnum:04d}F{f:03d}.jpg"
                    _save_jpg(img, d / name, render)
                    names.append(name)
                rows.append([start, len(names), pid, cam])  # 1-based inclusive rows, 1-based camera
            (tmp / "info" / f"{split}_name.txt").write_text("".join(n + "\n" for n in names))
            arr = np.asarray(rows, MARS_MAT_DTYPE).reshape(-1, 4)
            save_mat(tmp / "info" / f"tracks_{split}_info.mat", f"track_{split}_info", arr)
            pids = {int(p) for p in arr[:, 2] if p > 0}
            result[split] = {"identities": len(pids), "tracklets": len(rows), "frames": len(names)}
            if split == "test":
                query = []
                for pid in test_pids:
                    cand = [i for i, row in enumerate(rows) if int(row[2]) == pid]
                    cams = {int(rows[i][3]) for i in cand}
                    cand = [i for i in cand if len(cams - {int(rows[i][3])}) > 0]
                    query.append(cand[int(_rng(seed, S, _S_QUERY, pid).integers(len(cand)))])
                # 1-based rows of track_test_info, a 1 x Q row vector as in the public file
                q = np.asarray(sorted(query), MARS_MAT_DTYPE).reshape(1, -1) + 1
                save_mat(tmp / "info" / "query_IDX.mat", "query_IDX", q)
                result[split].update(query=len(query), gallery=len(rows) - len(query),
                                     distractor_tracklets=sum(1 for r_ in rows if r_[2] == 0),
                                     junk_tracklets=sum(1 for r_ in rows if r_[2] == -1))
        write_attributes(tmp, {pid: ident_of(pid) for pid in train_pids + test_pids})
    return result


def write_attributes(root: Path, identities: dict[int, Identity]) -> None:
    """`root`/attributes.csv: the accessories each identity was drawn with
    (`vreid.data.readers.attributes` reads it). Only reads the identities: no draw, so
    the frames are the same with or without this file."""
    text = format_attributes(ACCESSORIES, {pid: identity_attributes(ident)
                                           for pid, ident in identities.items()})
    atomic_write_text(root / ATTRIBUTES_FILE, text)


def write_market1501(root: str | os.PathLike, images: ImageSetConfig = ImageSetConfig(),
                     render: RenderConfig = RenderConfig(), difficulty: Difficulty = Difficulty(), seed: int = 0) -> dict:
    """Write a Market-1501-layout image re-ID set into ``root`` (replaced atomically).

    Identities come from a different seed stream than :func:`write_mars`'s.
    Returns image / identity counts of bounding_box_train, bounding_box_test and query.
    """
    S = _MARKET
    styles = [sample_camera_style(c, difficulty, _rng(seed, S, _S_CAM, c)) for c in range(1, images.num_cams + 1)]
    train_pids, test_pids = _split_pids(seed, S, images.num_train_ids, images.num_test_ids)
    used: set[str] = set()
    counts = {"train": 0, "gallery": 0, "query": 0}

    def name_for(pid: int, cam: int, seq: int, frame: int, r: np.random.Generator) -> str:
        pid_s = "-1" if pid == -1 else f"{pid:04d}"
        while True:
            name = f"{pid_s}_c{cam}s{seq}_{frame:06d}_{int(r.integers(1, 9)):02d}.jpg"
            if name not in used:
                used.add(name)
                return name
            frame = (frame + 1) % 1_000_000

    def images_of(ident: Optional[Identity], cam: int, n: int, r: np.random.Generator, junk: bool = False):
        """n (seq, frame, image) of one person in one camera: frames of one walk."""
        seq = int(r.integers(1, 7))
        frame = int(r.integers(1, 200_000))
        frames = []
        for _ in range(n):
            frames.append(frame)
            frame += int(r.integers(5, 40))
        ts = [f - frames[0] for f in frames]
        imgs = _tracklet_frames(ident, styles[cam - 1], difficulty, render, ts, r, junk=junk)
        return [(seq, f, img) for f, img in zip(frames, imgs)]

    with atomic_directory(root) as tmp:
        for sub in ("bounding_box_train", "bounding_box_test", "query"):
            (tmp / sub).mkdir()
        for split, pids in (("train", train_pids), ("test", test_pids)):
            for pid in pids:
                ident = sample_identity(_rng(seed, S, _S_ID, pid), difficulty)
                r = _rng(seed, S, _S_PLAN, pid)
                k = _rint(r, (images.cams_per_id[0], min(images.cams_per_id[1], images.num_cams)))
                cams = sorted(int(c) + 1 for c in r.choice(images.num_cams, size=k, replace=False))
                qcams = set(int(c) for c in r.choice(cams, size=_rint(r, (1, k)), replace=False))
                for cam in cams:
                    tr = _rng(seed, S, _S_TRACK, pid, cam)
                    shots = images_of(ident, cam, _rint(tr, images.images_per_cam), tr)
                    qi = int(tr.integers(len(shots))) if (split == "test" and cam in qcams) else -1
                    for i, (seq, f, img) in enumerate(shots):
                        if split == "train":
                            sub, key = "bounding_box_train", "train"
                        elif i == qi:
                            sub, key = "query", "query"
                        else:
                            sub, key = "bounding_box_test", "gallery"
                        _save_jpg(img, tmp / sub / name_for(pid, cam, seq, f, tr), render)
                        counts[key] += 1
        extra = {"distractors": 0, "junk": 0}
        for kind, pid, n, stream in (("distractors", 0, images.num_distractors, _S_DISTRACT), ("junk", -1, images.num_junk, _S_JUNK)):
            for i in range(n):
                r = _rng(seed, S, stream, i)
                cam = int(r.integers(1, images.num_cams + 1))
                ident = sample_identity(np.random.default_rng(r.integers(2**63)), difficulty)
                (seq, f, img), = images_of(ident, cam, 1, r, junk=pid == -1)
                _save_jpg(img, tmp / "bounding_box_test" / name_for(pid, cam, seq, f, r), render)
                extra[kind] += 1
    return {
        "train": {"identities": len(train_pids), "images": counts["train"]},
        "test": {"identities": len(test_pids), "gallery_images": counts["gallery"] + extra["distractors"] + extra["junk"],
                 "query_images": counts["query"], "distractor_images": extra["distractors"], "junk_images": extra["junk"]},
    }


def write_lip(root: str | os.PathLike, parsing: ParsingSetConfig = ParsingSetConfig(), render: RenderConfig = RenderConfig(),
              difficulty: Difficulty = Difficulty(), seed: int = 0) -> dict:
    """Write a LIP-layout human-parsing set into ``root`` (replaced atomically).

    Image sizes come from ``parsing.height`` / ``parsing.width`` (``render`` only gives
    the JPEG quality).  Labels are single-channel PNGs with values 0..19; occluding
    objects are background, and no second person is drawn.
    """
    S = _LIP
    used: set[str] = set()
    out = {"train": 0, "val": 0}
    with atomic_directory(root) as tmp:
        img_dir = tmp / "TrainVal_images"
        seg_dir = tmp / "TrainVal_parsing_annotations"
        for split, n, offset in (("train", parsing.num_train, 0), ("val", parsing.num_val, parsing.num_train)):
            (img_dir / f"{split}_images").mkdir(parents=True)
            (seg_dir / f"{split}_segmentations").mkdir(parents=True)
            ids = []
            for i in range(offset, offset + n):
                r = _rng(seed, S, _S_TRACK, i)
                while True:
                    sid = f"{int(r.integers(100000, 1000000))}_{int(r.integers(0, 1000000)):06d}"
                    if sid not in used:
                        used.add(sid)
                        break
                h, w = _rint(r, parsing.height), _rint(r, parsing.width)
                style = sample_camera_style(1, difficulty, np.random.default_rng(r.integers(2**63)))
                ident = sample_identity(np.random.default_rng(r.integers(2**63)), difficulty)
                nz = sample_nuisance(style, difficulty, h, w, r, person_occluders=False)
                view = VIEWS[int(r.integers(4))]
                img, label = render_frame(ident, view, float(r.uniform(0, 2 * math.pi)), nz, 0, r)
                _save_jpg(img, img_dir / f"{split}_images" / f"{sid}.jpg", render)
                Image.fromarray(label, "L").save(seg_dir / f"{split}_segmentations" / f"{sid}.png")
                ids.append(sid)
            (img_dir / f"{split}_id.txt").write_text("".join(s + "\n" for s in ids))
            out[split] = len(ids)
    return {"train": {"images": out["train"]}, "val": {"images": out["val"]}}
