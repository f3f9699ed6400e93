"""Readers for the public re-ID / human-parsing datasets in their on-disk layouts.

`read_dataset(name, root, **options)` dispatches to the reader registered under
`name` in `DATASETS` and returns the common index (`ReIDIndex`, or
`ParsingIndex` for `lip`). Pids are the dataset's own ids (never relabelled),
camids are 0-based, frames are in temporal order. A broken or partial copy
raises `DatasetFormatError` naming the offending file (and its row / line / key).
Each reader's docstring lists the invariants of its format that it checks where
the files are read (uniqueness, ranges, cross-references, types and bit depths);
anything that would change what is scored is an error, never a warning or a skip.
The shared checks live in `_common.py`.

`read_attributes(root)` reads a dataset's optional per-person attribute file
(`attributes.py`: `<root>/attributes.csv`; None when absent).

Registered names: mars, duke-video, ilids-vid, prid2011, market1501, lip, egoreid, union
(for `union`, `root` is a list of `(name, root)` or `(name, root, options)`).
"""

from __future__ import annotations

from typing import Any

from vreid.registry import Registry

DATASETS: Registry = Registry("dataset")


def read_dataset(name: str, root: Any, **options: Any):
    """Read dataset `name` at `root`; unknown names raise KeyError listing the known ones."""
    reader = DATASETS.get(name)
    return reader(root, **options)


# Importing the reader modules registers them in DATASETS.
from vreid.data.readers import (  # noqa: E402  (after DATASETS exists)
    duke_video,
    egoreid,
    ilids_vid,
    lip,
    market1501,
    mars,
    prid2011,
    union,
)
from vreid.data.readers.attributes import PersonAttributes, read_attributes  # noqa: E402
from vreid.data.readers.duke_video import read_duke_video  # noqa: E402
from vreid.data.readers.egoreid import read_egoreid  # noqa: E402
from vreid.data.readers.ilids_vid import read_ilids_vid  # noqa: E402
from vreid.data.readers.lip import read_lip  # noqa: E402
from vreid.data.readers.market1501 import read_market1501  # noqa: E402
from vreid.data.readers.mars import read_mars  # noqa: E402
from vreid.data.readers.prid2011 import read_prid2011  # noqa: E402
from vreid.data.readers.union import read_union  # noqa: E402

__all__ = [
    "DATASETS",
    "read_dataset",
    "read_mars",
    "read_duke_video",
    "read_egoreid",
    "read_ilids_vid",
    "read_prid2011",
    "read_market1501",
    "read_lip",
    "read_union",
    "read_attributes",
    "PersonAttributes",
]
