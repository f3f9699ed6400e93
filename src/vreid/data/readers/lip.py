"""LIP (Look Into Person) human-parsing reader.

Layout (root = the LIP folder)::

    TrainVal_images/train_images/<id>.jpg
    TrainVal_images/val_images/<id>.jpg
    TrainVal_images/train_id.txt, TrainVal_images/val_id.txt
    TrainVal_parsing_annotations/train_segmentations/<id>.png
    TrainVal_parsing_annotations/val_segmentations/<id>.png

Returns a ParsingIndex whose samples follow the order of the id files. Every
listed id must have both its image and its label.
"""

from __future__ import annotations

import os

from vreid.data.index import DatasetFormatError, ParsingIndex, ParsingSample
from vreid.data.readers import DATASETS
from vreid.data.readers._common import read_lines, require_dir


def _read_split(root: str, split: str) -> list[ParsingSample]:
    images_root = os.path.join(root, "TrainVal_images")
    id_path = os.path.join(images_root, f"{split}_id.txt")
    ids = read_lines(id_path, f"LIP {split} id list")
    image_dir = require_dir(os.path.join(images_root, f"{split}_images"), f"LIP {split} image directory")
    label_dir = require_dir(
        os.path.join(root, "TrainVal_parsing_annotations", f"{split}_segmentations"),
        f"LIP {split} label directory",
    )
    images = set(os.listdir(image_dir))
    labels = set(os.listdir(label_dir))
    out: list[ParsingSample] = []
    for lineno, sample_id in enumerate(ids, 1):
        if sample_id.lower().endswith((".jpg", ".png")):
            sample_id = sample_id[:-4]
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
