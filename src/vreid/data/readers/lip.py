"""LIP (Look Into Person) human-parsing reader.

Layout (root = the LIP folder)::

    TrainVal_images/train_images/<id>.jpg
    TrainVal_images/val_images/<id>.jpg
    TrainVal_images/train_id.txt, TrainVal_images/val_id.txt
    TrainVal_parsing_annotations/train_segmentations/<id>.png
    TrainVal_parsing_annotations/val_segmentations/<id>.png

Returns a ParsingIndex whose samples follow the order of the id files. Every
listed id must have both its image and its label.

Invariants checked here, when the index is read (each a `DatasetFormatError` naming
the file and line):

* ``train_id.txt`` / ``val_id.txt``: present and not empty; every id a bare file name
  (no directory part); no id listed twice in one file (a repeated val id would be
  scored twice);
* every listed id has exactly its image ``<id>.jpg`` and its label ``<id>.png``
  (pairs match one to one, by id).

Invariants of the pixels, checked where the pixels are read (`check_label_map`, called
by `vreid.data.parsing_dataset.ParsingDataset` for every sample it loads and by the
`vreid validate` probe), each a `DatasetFormatError` naming the label file:

* the label map is single-channel and 8-bit (PIL mode L or P): a 16-bit map would
  wrap through uint8 (256 -> 0) and train / score the wrong classes;
* every label value is a LIP class 0..NUM_CLASSES - 1 (0..19) or IGNORE_LABEL (255,
  skipped by the loss and the evaluation);
* image and label have the same width and height.

Opening every file is left to those two places, so reading the index stays a listing.
"""

from __future__ import annotations

import os

from typing import Any

import numpy as np

from vreid.data.index import DatasetFormatError, ParsingIndex, ParsingSample
from vreid.data.readers import DATASETS
from vreid.data.readers._common import numbered_lines, require_dir, require_unique
from vreid.data.synth.render import LIP_CLASSES

# LIP's classes 0..19, counted from the one list of their names (as
# vreid.data.regions.NUM_LIP_CLASSES is); IGNORE_LABEL equals regions' (a test keeps it so).
NUM_CLASSES = len(LIP_CLASSES)
IGNORE_LABEL = 255
LABEL_MODES = ("L", "P")  # 8-bit single-channel PIL modes


def check_label_map(label: Any, path: str, mode: str | None = None,
                    image_size: tuple[int, int] | None = None,
                    num_classes: int = NUM_CLASSES) -> np.ndarray:
    """`label` (the decoded array of label file `path`) as uint8, after checking it is a
    single-channel 8-bit map (PIL `mode` L or P when given, dtype uint8) whose values are
    classes 0..num_classes-1 or IGNORE_LABEL, of PIL size `image_size` (width, height)
    when given. Raises DatasetFormatError naming `path` otherwise; never casts a value."""
    arr = np.asarray(label)
    if arr.ndim != 2:
        raise DatasetFormatError(
            f"label {path!r}: a label map must be single-channel, got shape {arr.shape}"
            + (f" (PIL mode {mode})" if mode else ""))
    if (mode is not None and mode not in LABEL_MODES) or arr.dtype != np.uint8:
        raise DatasetFormatError(
            f"label {path!r}: a label map must be 8-bit (PIL mode L or P), got "
            + (f"mode {mode}, " if mode else "") + f"dtype {arr.dtype}")
    if image_size is not None and (arr.shape[1], arr.shape[0]) != tuple(image_size):
        raise DatasetFormatError(
            f"label {path!r} is {arr.shape[1]}x{arr.shape[0]} but its image is "
            f"{image_size[0]}x{image_size[1]} (width x height)")
    if arr.size:
        present = np.flatnonzero(np.bincount(arr.reshape(-1), minlength=256))
        bad = present[(present >= num_classes) & (present != IGNORE_LABEL)]
        if bad.size:
            raise DatasetFormatError(
                f"label {path!r}: value(s) {bad.tolist()[:5]} are not LIP classes "
                f"(0..{num_classes - 1}, or {IGNORE_LABEL} = ignore)")
    return arr


def _read_split(root: str, split: str) -> list[ParsingSample]:
    images_root = os.path.join(root, "TrainVal_images")
    id_path = os.path.join(images_root, f"{split}_id.txt")
    numbered = numbered_lines(id_path, f"LIP {split} id list")
    ids = [line for _, line in numbered]
    if not ids:
        raise DatasetFormatError(f"LIP {split} id list {id_path!r} lists no ids")
    image_dir = require_dir(os.path.join(images_root, f"{split}_images"), f"LIP {split} image directory")
    label_dir = require_dir(
        os.path.join(root, "TrainVal_parsing_annotations", f"{split}_segmentations"),
        f"LIP {split} label directory",
    )
    images = set(os.listdir(image_dir))
    labels = set(os.listdir(label_dir))
    out: list[ParsingSample] = []
    bare = [i[:-4] if i.lower().endswith((".jpg", ".png")) else i for i in ids]
    require_unique(bare, id_path, "id", unit="line", numbers=[n for n, _ in numbered])
    for (lineno, _), sample_id in zip(numbered, bare):
        if os.sep in sample_id or "/" in sample_id or sample_id in (".", ".."):
            raise DatasetFormatError(
                f"{id_path!r} line {lineno}: id {sample_id!r} must be a bare file name")
        image, label = f"{sample_id}.jpg", f"{sample_id}.png"
        if image not in images:
            raise DatasetFormatError(
                f"image {os.path.join(image_dir, image)!r} listed in {id_path!r} line {lineno} is missing"
            )
        if label not in labels:
            raise DatasetFormatError(
                f"label {os.path.join(label_dir, label)!r} listed in {id_path!r} line {lineno} is missing"
            )
        out.append(ParsingSample(image=os.path.join(image_dir, image), label=os.path.join(label_dir, label)))
    return out


@DATASETS.register("lip")
def read_lip(root) -> ParsingIndex:
    """Read LIP at `root` (train and val image / label pairs)."""
    root = os.fspath(root)
    require_dir(root, "LIP root")
    return ParsingIndex(name="lip", root=root, train=_read_split(root, "train"), val=_read_split(root, "val"))
