"""Helpers shared by several readers: existence checks that name the missing
path, .mat loading with key checks, sorted frame listing, seeded fallback splits,
and the invariant checks every reader uses (uniqueness, ranges, disjointness), all
vectorised so that real-scale index files (MARS: ~1.2 M names) stay fast.

Everything raises `DatasetFormatError` with the offending path (and row / line / key)
in the message.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Callable, Sequence

import numpy as np

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet

log = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
_DIGITS = re.compile(r"(\d+)")
Splits = list[tuple[list[int], list[int]]]  # [(train, test), ...] person positions


def require_dir(path: str, what: str) -> str:
    """Return `path` if it is a directory, else raise naming it."""
    if not os.path.isdir(path):
        raise DatasetFormatError(f"missing {what}: directory {path!r} does not exist")
    return path


def require_file(path: str, what: str) -> str:
    """Return `path` if it is a regular file, else raise naming it."""
    if not os.path.isfile(path):
        raise DatasetFormatError(f"missing {what}: file {path!r} does not exist")
    return path


def numbered_lines(path: str, what: str) -> list[tuple[int, str]]:
    """(1-based line number, stripped line) of the non-blank lines of a required text file."""
    require_file(path, what)
    try:
        with open(path, "r", encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetFormatError(f"cannot read {what} {path!r}: {exc}") from exc
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_lines(path: str, what: str) -> list[str]:
    """Non-blank stripped lines of a required text file."""
    return [line for _, line in numbered_lines(path, what)]


def load_mat_array(path: str, key: str, what: str) -> np.ndarray:
    """The numeric array stored under `key` in a MATLAB (v4-v7.2) file, as int64.

    Integer arrays (the public MARS files) and whole-number float arrays (other copies,
    and what `prepare` wrote before issue 17) read the same; other floats are refused."""
    require_file(path, what)
    from scipy.io import loadmat  # local import keeps module import cheap

    try:
        content = loadmat(path)
    except NotImplementedError as exc:  # MATLAB v7.3 (HDF5)
        raise DatasetFormatError(
            f"{what} {path!r} is a MATLAB v7.3 (HDF5) file, which is not supported: {exc}"
        ) from exc
    except Exception as exc:  # scipy raises a variety of errors on corrupt files
        raise DatasetFormatError(f"{what} {path!r} is not a readable .mat file: {exc}") from exc
    if key not in content:
        keys = sorted(k for k in content if not k.startswith("__"))
        raise DatasetFormatError(
            f"{what} {path!r} has no key {key!r} (keys present: {keys or 'none'})"
        )
    arr = np.asarray(content[key])
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        raise DatasetFormatError(
            f"{what} {path!r}: key {key!r} is not a non-empty numeric array "
            f"(dtype {arr.dtype}, shape {arr.shape})"
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise DatasetFormatError(
                f"{what} {path!r}: key {key!r} holds non-integer values"
            )
    return arr.astype(np.int64)


def find_duplicate(values) -> tuple[int, int] | None:
    """(position of the first occurrence, position of the repeat) of the first value of
    `values` that occurs again, or None when all are distinct. Integer arrays are checked
    with numpy, other sequences with one set (then a dict scan only when a repeat exists)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iub":
        flat = values.reshape(-1)
        if flat.size < 2:
            return None
        _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
        repeats = np.flatnonzero(first[inverse.reshape(-1)] != np.arange(flat.size))
        if not repeats.size:
            return None
        k = int(repeats[0])
        return int(first[inverse.reshape(-1)[k]]), k
    values = list(values)
    if len(set(values)) == len(values):
        return None
    seen: dict = {}
    for k, value in enumerate(values):
        if value in seen:
            return seen[value], k
        seen[value] = k
    return None  # pragma: no cover  (a repeat exists, so the scan finds it)


def require_unique(values, path: str, item: str, unit: str = "line", base: int = 1,
                   key: str = "", numbers=None) -> None:
    """Raise naming `path` (and `key` within it), the repeated `item` and both of its
    `unit`s (numbered from `base`, or `numbers[position]` when given, e.g. the line
    numbers of non-blank lines) when a value of `values` occurs twice."""
    dup = find_duplicate(values)
    if dup is not None:
        first, k = dup
        value = values[k]
        value = value.item() if isinstance(value, np.generic) else value
        at = (lambda i: numbers[i]) if numbers is not None else (lambda i: i + base)
        raise DatasetFormatError(
            f"{path!r}{' ' + key if key else ''} {unit} {at(k)}: {item} {value!r} repeats "
            f"{unit} {at(first)} "
            f"(each {item} must occur once)"
        )


def require_in_range(values: np.ndarray, lo: int, hi: int, path: str, item: str,
                     unit: str = "row", base: int = 1) -> None:
    """Raise naming `path` and the first `unit` whose value lies outside lo..hi."""
    values = np.asarray(values)
    bad = (values < lo) | (values > hi)
    if bad.any():
        k = int(np.flatnonzero(bad.reshape(-1))[0])
        raise DatasetFormatError(
            f"{path!r} {unit} {k + base}: {item} {values.reshape(-1)[k].item()!r} is outside "
            f"{lo}..{hi}"
        )


def require_disjoint(a, b, where: str, a_name: str, b_name: str, item: str) -> None:
    """Raise naming `where` and up to five `item`s found in both `a` and `b`."""
    both = set(a) & set(b)
    if both:
        shown = sorted(both, key=lambda v: natural_key(str(v)))[:5]
        raise DatasetFormatError(
            f"{where}: {item}(s) {shown} in both {a_name} and {b_name} ({len(both)} in all; "
            "they must be disjoint)"
        )


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers numerically (F9 before F10)."""
    return tuple(int(p) if p.isdigit() else p for p in _DIGITS.split(name))


def list_frames(directory: str, exts: Sequence[str] = IMAGE_EXTS) -> list[str]:
    """Image files directly in `directory`, in natural (temporal) name order, as full paths."""
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise DatasetFormatError(f"missing frame directory {directory!r}: {exc}") from exc
    lowered = tuple(e.lower() for e in exts)
    names = [n for n in names if n.lower().endswith(lowered)]
    names.sort(key=natural_key)
    return [os.path.join(directory, n) for n in names]


def list_subdirs(directory: str) -> list[str]:
    """Names of sub-directories of `directory`, naturally sorted."""
    try:
        entries = os.listdir(directory)
    except OSError as exc:
        raise DatasetFormatError(f"cannot list directory {directory!r}: {exc}") from exc
    subdirs = [e for e in entries if os.path.isdir(os.path.join(directory, e))]
    subdirs.sort(key=natural_key)
    return subdirs


def person_dirs(cam_dir: str, pattern: "re.Pattern[str]", form: str) -> dict[int, str]:
    """Person number -> directory name of every sub-directory of `cam_dir`, each named by
    `pattern` (one group: the number; `form` says it in messages, e.g. "personNNN").
    Raises naming a directory that does not match, or two directories of one number
    (person1 and person001)."""
    out: dict[int, str] = {}
    for name in list_subdirs(cam_dir):
        m = pattern.match(name)
        if m is None:
            raise DatasetFormatError(f"directory {os.path.join(cam_dir, name)!r} is not named {form}")
        num = int(m.group(1))
        if num in out:
            raise DatasetFormatError(
                f"directories {os.path.join(cam_dir, out[num])!r} and {name!r} are the same "
                f"person {num}; each person has one directory per camera"
            )
        out[num] = name
    return out


def generate_splits(num_items: int, num_splits: int = 10, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """Deterministic random half/half splits of range(num_items): [(train, test), ...].

    The same (num_items, num_splits, seed) always gives the same splits; indices
    in each half are sorted.
    """
    rng = np.random.default_rng(seed)
    half = num_items // 2
    splits = []
    for _ in range(num_splits):
        perm = rng.permutation(num_items)
        splits.append((sorted(int(i) for i in perm[:half]), sorted(int(i) for i in perm[half:])))
    return splits


def check_split_id(split_id: int, num_splits: int, source: str) -> int:
    if isinstance(split_id, bool) or not isinstance(split_id, (int, np.integer)):
        raise TypeError(f"split_id must be an int, got {split_id!r}")
    if not 0 <= split_id < num_splits:
        raise ValueError(f"split_id={split_id} out of range: {source} has {num_splits} splits (0..{num_splits - 1})")
    return int(split_id)


def split_index(name: str, root, split_id: int, num_splits: int, source: str, seed: int,
                train: list[Tracklet], query: list[Tracklet],
                gallery: list[Tracklet]) -> ReIDIndex:
    """A small set's index for one of its train/test splits, saying where the split came
    from in `split_info` (the split file, or "generated" with its seed)."""
    index = ReIDIndex(name=name, root=root, train=train, query=query, gallery=gallery)
    index.split_info = {  # type: ignore[attr-defined]
        "split_id": split_id,
        "num_splits": num_splits,
        "source": source,
        "generated": source == "generated",
        "seed": seed if source == "generated" else None,
    }
    return index


def png_tracklet(pdir: str, pid: int, camid: int, person: str, what: str) -> Tracklet:
    """One person's sequence in one camera: the .png frames of `pdir`, in order."""
    frames = list_frames(require_dir(pdir, f"{what} frame directory"), (".png",))
    if not frames:
        raise DatasetFormatError(f"frame directory {pdir!r} holds no .png frames")
    return Tracklet(frames=tuple(frames), pid=pid, camid=camid, meta={"person": person})


def two_camera_split_index(name: str, what: str, root: str, split_path: str,
                           load_splits: Callable[[str], Splits], num_persons: int,
                           split_id: int, seed: int,
                           tracklet: Callable[[int, int], Tracklet]) -> ReIDIndex:
    """The index of a two-camera set (iLIDS-VID, PRID2011) for split `split_id` of its
    split file, or, when that file is absent, of 10 seeded generated half/half splits.

    `tracklet(i, camid)` is person i's sequence in camera 0 or 1. Train: both cameras
    of the train persons; query: camera 0 of the test persons; gallery: camera 1.
    """
    if os.path.exists(split_path):
        splits, source = load_splits(split_path), split_path
        split_id = check_split_id(split_id, len(splits), split_path)
    else:
        splits, source = generate_splits(num_persons, 10, seed), "generated"
        split_id = check_split_id(split_id, len(splits), f"the generated {what} splits")
        log.warning("%s split file %r absent: using 10 generated splits (seed %d)", what,
                    split_path, seed)
    train_idx, test_idx = splits[split_id]
    train = [tracklet(i, camid) for i in train_idx for camid in (0, 1)]
    query = [tracklet(i, 0) for i in test_idx]
    gallery = [tracklet(i, 1) for i in test_idx]
    return split_index(name, root, split_id, len(splits), source, seed, train, query, gallery)
