"""Embedded two-camera small sets in the public iLIDS-VID and PRID2011 layouts (and their
split-file formats), read back by `vreid.data.readers.ilids_vid` / `prid2011`.

Each set draws from its own seed stream (`_ILIDS`, `_PRID`), so adding them does not
shift a single draw of the MARS, Market-1501, LIP or EgoReID writers.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .appearance import sample_identity
from .camera import sample_camera_style
from .config import Difficulty, RenderConfig, TwoCameraSetConfig
from .layouts import _rint, _rng, _tracklet_frames, atomic_directory, save_mat

__all__ = ["write_ilids_vid", "write_prid2011"]

_ILIDS, _PRID = 4, 5  # seed streams after _MARS, _MARKET, _LIP (layouts.py)
_S_CAM, _S_ID, _S_TRACK, _S_SPLIT = 20, 21, 22, 23


def _render_two_cameras(seed: int, stream: int, cfg: TwoCameraSetConfig, render: RenderConfig,
                        difficulty: Difficulty, frame_dir) -> int:
    """Render person p's sequence in cameras 1 and 2 through `frame_dir(p, cam, f) -> path`
    (PNG, as in both public sets); returns the number of frames written."""
    styles = [sample_camera_style(c, difficulty, _rng(seed, stream, _S_CAM, c)) for c in (1, 2)]
    written = 0
    for p in range(1, cfg.num_persons + 1):
        ident = sample_identity(_rng(seed, stream, _S_ID, p), difficulty)
        for cam in (1, 2):
            r = _rng(seed, stream, _S_TRACK, p, cam)
            n = _rint(r, cfg.frames)
            for f, img in enumerate(_tracklet_frames(ident, styles[cam - 1], difficulty, render,
                                                     list(range(n)), r), start=1):
                path = frame_dir(p, cam, f)
                path.parent.mkdir(parents=True, exist_ok=True)
                img.save(path, format="PNG")
                written += 1
    return written


def _half_splits(seed: int, stream: int, cfg: TwoCameraSetConfig) -> np.ndarray:
    """num_splits rows, each a permutation of 1..num_persons."""
    r = _rng(seed, stream, _S_SPLIT)
    return np.stack([r.permutation(cfg.num_persons) + 1 for _ in range(cfg.num_splits)])


def write_ilids_vid(root: str | os.PathLike, cfg: TwoCameraSetConfig = TwoCameraSetConfig(),
                    render: RenderConfig = RenderConfig(), difficulty: Difficulty = Difficulty(),
                    seed: int = 0) -> dict:
    """i-LIDS-VID/sequences/cam{1,2}/personNNN/cam{c}_personNNN_FFFFF.png and
    `train-test people splits/train_test_splits_ilidsvid.mat` (key ls_set, splits x
    persons, 1-based; first half of a row = test, as in the public file)."""
    with atomic_directory(root) as tmp:
        seq = tmp / "i-LIDS-VID" / "sequences"
        frames = _render_two_cameras(
            seed, _ILIDS, cfg, render, difficulty,
            lambda p, c, f: seq / f"cam{c}" / f"person{p:03d}" / f"cam{c}_person{p:03d}_{f:05d}.png")
        sdir = tmp / "train-test people splits"
        sdir.mkdir()
        # MATLAB double, kept as in the public file as far as we know (its readers convert
        # the entries with int(...)); our reader takes integer and whole-number float files
        save_mat(sdir / "train_test_splits_ilidsvid.mat", "ls_set",
                 _half_splits(seed, _ILIDS, cfg).astype(np.float64))
    return {"persons": cfg.num_persons, "frames": frames, "splits": cfg.num_splits}


def write_prid2011(root: str | os.PathLike, cfg: TwoCameraSetConfig = TwoCameraSetConfig(),
                   render: RenderConfig = RenderConfig(), difficulty: Difficulty = Difficulty(),
                   seed: int = 0) -> dict:
    """prid_2011/multi_shot/cam_{a,b}/person_NNNN/NNNN.png and splits_prid2011.json
    ([{"train": [...], "test": [...]}, ...], person directory names "person_NNNN", as in the
    public file, whose entries are joined to cam_a/ and cam_b/ as they stand)."""
    with atomic_directory(root) as tmp:
        ms = tmp / "prid_2011" / "multi_shot"
        frames = _render_two_cameras(
            seed, _PRID, cfg, render, difficulty,
            lambda p, c, f: ms / ("cam_a" if c == 1 else "cam_b") / f"person_{p:04d}" / f"{f:04d}.png")
        half = cfg.num_persons // 2
        splits = [{"train": [f"person_{int(i):04d}" for i in sorted(row[:half])],
                   "test": [f"person_{int(i):04d}" for i in sorted(row[half:])]}
                  for row in _half_splits(seed, _PRID, cfg)]
        (tmp / "splits_prid2011.json").write_text(json.dumps(splits))
    return {"persons": cfg.num_persons, "frames": frames, "splits": cfg.num_splits}
