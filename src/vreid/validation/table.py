"""Turn a dataset index into flat tables the expectation suite can check.

One row per tracklet (re-ID) or per image / label pair (human parsing), and one
row per file (:func:`file_table`: every frame, image and label), so a failing
file expectation names the file itself.  All file-system work (existence, full
decode) happens here, in a thread pool; the suite in
:mod:`vreid.validation.suite` then only looks at computed columns.

Columns of :func:`reid_table`:

``split, position, name, pid, camid, num_frames, pid_in_both_train_and_test,
has_cross_camera_match, gallery_cams_of_pid``

Columns of :func:`parsing_table`:

``split, position, name, image, label, image_width, image_height, label_width,
label_height, sizes_agree, label_min, label_max``

Columns of :func:`file_table` (and of the files table of :func:`parsing_tables`):

``split, position, name, missing, undecodable, problem``

``name`` is what a report prints for the row: the file, the tracklet's first
frame (or its directory / position when it has no frames), or the parsing
image, as a path relative to the index root when it lies under it.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from vreid.data.index import ParsingIndex, ReIDIndex

__all__ = [
    "DISTRACTOR_PIDS",
    "REID_SPLITS",
    "PARSING_SPLITS",
    "reid_table",
    "file_table",
    "parsing_table",
    "parsing_tables",
    "probe_files",
]

REID_SPLITS = ("train", "query", "gallery")
PARSING_SPLITS = ("train", "val")
#: pids left out of the train / test disjointness check (MARS-style distractors).
DISTRACTOR_PIDS = frozenset({0})

MISSING = "missing"
UNDECODABLE = "undecodable"


# --------------------------------------------------------------------------- paths


def _resolve(root: str, path: str) -> str:
    """Where ``path`` is on disk: absolute paths and paths that already start with
    ``root`` (readers join root themselves) are kept; others are relative to ``root``."""
    path = os.fspath(path)
    if os.path.isabs(path) or not root:
        return path
    prefix = os.path.normpath(root) + os.sep
    if os.path.normpath(path).startswith(prefix):
        return path
    return os.path.join(root, path)


def _display(root: str, path: str) -> str:
    """``path`` relative to ``root`` when it lies under it, else unchanged."""
    path = os.fspath(path)
    if root:
        try:
            rel = os.path.relpath(path, root)
        except ValueError:  # other drive on Windows
            return path
        if rel != os.curdir and not rel.startswith(os.pardir + os.sep) and rel != os.pardir:
            return rel.replace(os.sep, "/")
    return path


def _default_workers() -> int:
    return min(32, max(4, 2 * (os.cpu_count() or 4)))


# --------------------------------------------------------------------------- decoding


@contextlib.contextmanager
def _strict_decoding() -> Iterator[None]:
    """Make Pillow refuse truncated images while we check (training code may relax it)."""
    from PIL import ImageFile

    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def _describe_error(exc: BaseException) -> tuple[str, str]:
    """Map an exception raised while opening / decoding to (kind, problem text)."""
    from PIL import UnidentifiedImageError

    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return MISSING, "missing"
    if isinstance(exc, IsADirectoryError):
        return MISSING, "missing (is a directory)"
    if isinstance(exc, PermissionError):
        return UNDECODABLE, "cannot read (permission denied)"
    if isinstance(exc, UnidentifiedImageError):
        return UNDECODABLE, "cannot decode (not a recognised image)"
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "truncated" in msg.lower():
        return UNDECODABLE, "cannot decode (truncated)"
    detail = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    if len(detail) > 120:
        detail = detail[:117] + "..."
    return UNDECODABLE, f"cannot decode ({detail})"


def _probe_image(path: str) -> tuple[str, str] | None:
    """Open and fully decode one image; ``None`` when fine, else (kind, problem)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
    except Exception as exc:  # noqa: BLE001 - any failure is a finding, not a crash
        return _describe_error(exc)
    return None


def probe_files(paths: Iterable[str], *, workers: int | None = None) -> dict[str, tuple[str, str] | None]:
    """Decode every distinct path once (thread pool); map path -> None or (kind, problem)."""
    unique = list(dict.fromkeys(paths))
    if not unique:
        return {}
    with _strict_decoding():
        results = _map_chunked(_probe_image, unique, workers=workers, serial_below=64)
    return dict(zip(unique, results))


def _map_chunked(fn, items: list, *, workers: int | None, serial_below: int, chunk: int = 64) -> list:
    """``[fn(x) for x in items]``, in a thread pool with one task per chunk (less overhead)."""
    if len(items) < serial_below:
        return [fn(x) for x in items]
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    with ThreadPoolExecutor(max_workers=workers or _default_workers()) as pool:
        parts = pool.map(lambda part: [fn(x) for x in part], chunks)
        return [r for part in parts for r in part]


# --------------------------------------------------------------------------- re-ID


def _tracklet_name(root: str, split: str, position: int, tracklet) -> str:
    if tracklet.frames:
        return _display(root, _resolve(root, tracklet.frames[0]))
    meta = tracklet.meta if hasattr(tracklet.meta, "get") else {}
    for key in ("dir", "directory", "path", "tracklet_dir"):
        value = meta.get(key)
        if value:
            return _display(root, _resolve(root, str(value)))
    extra = "".join(f", {k} {v}" for k, v in sorted(meta.items(), key=lambda kv: str(kv[0]))
                    if isinstance(v, (str, int)))  # fmt: skip
    return f"{split} tracklet #{position} (pid {tracklet.pid}, cam {tracklet.camid}{extra})"


def reid_table(
    index: "ReIDIndex",
    *,
    distractor_pids: Iterable[int] = DISTRACTOR_PIDS,
) -> "pd.DataFrame":
    """One row per tracklet of ``index`` (train, then query, then gallery)."""
    import pandas as pd

    root = os.fspath(index.root) if index.root else ""
    splits = [("train", index.train), ("query", index.query), ("gallery", index.gallery)]

    distractors = set(distractor_pids)
    train_pids = {t.pid for t in index.train} - distractors
    test_pids = {t.pid for t in (*index.query, *index.gallery)} - distractors
    shared = train_pids & test_pids

    gallery_cams: dict[int, set[int]] = {}
    for t in index.gallery:
        gallery_cams.setdefault(t.pid, set()).add(t.camid)

    rows = []
    for split, items in splits:
        for position, t in enumerate(items):
            if split == "query":
                cams = gallery_cams.get(t.pid, set())
                cross = any(c != t.camid for c in cams)
                cams_text = ",".join(str(c) for c in sorted(cams))
            else:
                cross, cams_text = None, None
            rows.append(
                {
                    "split": split,
                    "position": position,
                    "name": _tracklet_name(root, split, position, t),
                    "pid": int(t.pid),
                    "camid": int(t.camid),
                    "num_frames": len(t.frames),
                    "pid_in_both_train_and_test": t.pid in shared,
                    "has_cross_camera_match": cross,
                    "gallery_cams_of_pid": cams_text,
                }
            )

    columns = [
        "split", "position", "name", "pid", "camid", "num_frames", "pid_in_both_train_and_test",
        "has_cross_camera_match", "gallery_cams_of_pid",
    ]  # fmt: skip
    df = pd.DataFrame.from_records(rows, columns=columns)
    # Keep dtypes stable even for an empty index.
    for col in ("position", "pid", "camid", "num_frames"):
        df[col] = df[col].astype("int64")
    df["pid_in_both_train_and_test"] = df["pid_in_both_train_and_test"].astype(bool)
    df["has_cross_camera_match"] = df["has_cross_camera_match"].astype(object)
    return df


FILE_COLUMNS = ["split", "position", "name", "missing", "undecodable", "problem"]


def _file_row(split: str, position: int, shown: str, found: tuple[str, str] | None) -> dict:
    kind, problem = found if found is not None else (None, None)
    return {"split": split, "position": position, "name": shown, "missing": kind == MISSING,
            "undecodable": kind == UNDECODABLE, "problem": problem}


def _files_frame(rows: list[dict]) -> "pd.DataFrame":
    import pandas as pd

    df = pd.DataFrame.from_records(rows, columns=FILE_COLUMNS)
    df["position"] = df["position"].astype("int64")
    for col in ("missing", "undecodable"):
        df[col] = df[col].astype(bool)
    return df


def file_table(index: "ReIDIndex", *, workers: int | None = None) -> "pd.DataFrame":
    """One row per frame of ``index`` (train, then query, then gallery; ``position`` is
    the tracklet's): whether it is missing or does not decode, and why."""
    root = os.fspath(index.root) if index.root else ""
    frames = [(split, position, _resolve(root, f))
              for split, items in (("train", index.train), ("query", index.query),
                                   ("gallery", index.gallery))
              for position, t in enumerate(items) for f in t.frames]  # fmt: skip
    probed = probe_files([path for _, _, path in frames], workers=workers)
    return _files_frame([_file_row(split, position, _display(root, path), probed[path])
                         for split, position, path in frames])


# --------------------------------------------------------------------------- parsing


def _probe_pair(image_path: str, label_path: str) -> dict:
    """Decode one image / label pair; return sizes, label min/max and problems."""
    import numpy as np
    from PIL import Image

    out: dict = {"image_problem": None, "label_problem": None, "image_size": None,
                 "label_size": None, "label_min": None, "label_max": None}  # fmt: skip
    try:
        with Image.open(image_path) as im:
            im.load()
            out["image_size"] = im.size
    except Exception as exc:  # noqa: BLE001
        out["image_problem"] = _describe_error(exc)
    try:
        with Image.open(label_path) as lab:
            lab.load()
            out["label_size"] = lab.size
            arr = np.asarray(lab)
            mode = lab.mode
        if arr.ndim != 2:
            out["label_problem"] = (
                UNDECODABLE,
                f"cannot decode as a label map (mode {mode}, not single-channel)",
            )
        elif mode not in ("L", "P") or arr.dtype != np.uint8:
            # a 16-bit map would wrap through uint8 when trained on (256 -> 0)
            out["label_problem"] = (
                UNDECODABLE,
                f"cannot decode as a label map (mode {mode}, dtype {arr.dtype}, not 8-bit)",
            )
        elif arr.size:
            out["label_min"] = int(arr.min())
            out["label_max"] = int(arr.max())
    except Exception as exc:  # noqa: BLE001
        out["label_problem"] = _describe_error(exc)
    return out


def parsing_table(index: "ParsingIndex", *, workers: int | None = None) -> "pd.DataFrame":
    """One row per image / label pair of ``index`` (train, then val)."""
    return parsing_tables(index, workers=workers)[0]


def parsing_tables(index: "ParsingIndex", *,
                   workers: int | None = None) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """The pair table and the file table (image then label of each pair) of ``index``,
    from one decode of every file."""
    import pandas as pd

    root = os.fspath(index.root) if index.root else ""
    items = [(split, pos, s) for split, samples in (("train", index.train), ("val", index.val))
             for pos, s in enumerate(samples)]  # fmt: skip
    pairs = [(_resolve(root, s.image), _resolve(root, s.label)) for _, _, s in items]

    with _strict_decoding():
        probes = _map_chunked(lambda pair: _probe_pair(*pair), pairs, workers=workers, serial_below=32, chunk=32)

    rows, files = [], []
    for (split, position, _), (image_path, label_path), probe in zip(items, pairs, probes):
        image_shown, label_shown = _display(root, image_path), _display(root, label_path)
        files.append(_file_row(split, position, image_shown, probe["image_problem"]))
        files.append(_file_row(split, position, label_shown, probe["label_problem"]))
        isz, lsz = probe["image_size"], probe["label_size"]
        sizes_agree = None if (isz is None or lsz is None) else bool(isz == lsz)
        rows.append(
            {
                "split": split,
                "position": position,
                "name": image_shown,
                "image": image_shown,
                "label": label_shown,
                "image_width": float(isz[0]) if isz else float("nan"),
                "image_height": float(isz[1]) if isz else float("nan"),
                "label_width": float(lsz[0]) if lsz else float("nan"),
                "label_height": float(lsz[1]) if lsz else float("nan"),
                "sizes_agree": sizes_agree,
                "label_min": float(probe["label_min"]) if probe["label_min"] is not None else float("nan"),
                "label_max": float(probe["label_max"]) if probe["label_max"] is not None else float("nan"),
            }
        )

    columns = [
        "split", "position", "name", "image", "label", "image_width", "image_height", "label_width", "label_height", "sizes_agree",
        "label_min", "label_max",
    ]  # fmt: skip
    df = pd.DataFrame.from_records(rows, columns=columns)
    df["position"] = df["position"].astype("int64")
    for col in ("image_width", "image_height", "label_width", "label_height", "label_min", "label_max"):
        df[col] = df[col].astype("float64")
    df["sizes_agree"] = df["sizes_agree"].astype(object)
    return df, _files_frame(files)


# --------------------------------------------------------------------------- sensor logs


def sensor_table(root: str) -> "pd.DataFrame":
    """One row per sample of every EgoReID sensor log (``<root>/sensors/*.csv``): ``file``
    (relative to ``root``), ``line`` (in the file), ``name`` (``file:line``), the
    columns of :data:`vreid.data.sensors.SENSOR_COLUMNS` (NaN where a field is empty)
    and ``time_increases`` (False where time_s is not above the previous sample's)."""
    import glob

    import numpy as np
    import pandas as pd

    from vreid.data.index import DatasetFormatError
    from vreid.data.readers._common import natural_key
    from vreid.data.sensors import SENSOR_COLUMNS, parse_sensor_csv

    root = os.fspath(root)
    paths = sorted(glob.glob(os.path.join(root, "sensors", "*.csv")), key=natural_key)
    if not paths:
        raise DatasetFormatError(f"missing sensor logs: no sensors/*.csv under {root!r}")
    parts = []
    for path in paths:
        cols = parse_sensor_csv(path)
        part = pd.DataFrame(cols, columns=list(SENSOR_COLUMNS))
        shown = _display(root, path)
        part.insert(0, "file", shown)
        part.insert(1, "line", np.arange(2, len(part) + 2))  # line 1 is the header
        part.insert(2, "name", [f"{shown}:{n}" for n in part["line"]])
        t = part["time_s"].to_numpy()
        part["time_increases"] = np.concatenate([[True], t[1:] > t[:-1]])
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
