"""Union of several re-ID datasets with disjoint identity and camera ranges.

Used for pretraining on many image sets at once. Each later set's pids and
camids are shifted past the previous sets' ranges (offset = running sum of
max id + 1), and the train / query / gallery splits are concatenated
split-wise. Each tracklet's meta records `dataset`, `orig_pid`, `orig_camid`.

Invariants checked here (besides each source's own, checked by its reader):

* sources are `(name, root)` or `(name, root, options)` with a registered re-ID
  dataset name (TypeError / KeyError: a configuration mistake, not a data file);
  at least one source (ValueError);
* no source is listed twice (same name, same resolved root, same options): its
  tracklets would be counted twice, queries included (`DatasetFormatError`);
* every source's pids and camids are >= 0, so that the running offsets keep the
  sources' identity and camera ranges disjoint (`DatasetFormatError` naming the
  dataset, its root and the first offending tracklet's first frame).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Iterable, Sequence

from vreid.data.index import DatasetFormatError, ReIDIndex, Tracklet
from vreid.data.readers import DATASETS


def _parse_source(source: Any) -> tuple[str, Any, dict]:
    if isinstance(source, (tuple, list)) and len(source) in (2, 3):
        name, root = source[0], source[1]
        options = dict(source[2]) if len(source) == 3 else {}
        if isinstance(name, str):
            return name, root, options
    raise TypeError(f"union source must be (name, root) or (name, root, options), got {source!r}")


def read_union(sources: Iterable[Sequence[Any]], all_to_train: bool = False) -> ReIDIndex:
    """Read each `(name, root)` / `(name, root, options)` and merge them with id offsets.

    all_to_train: put every set's query and gallery tracklets into the union's
    train split as well (query / gallery then empty); distractors (source pid 0
    in query / gallery) are left out in that mode since they are not one identity.
    """
    sources = [_parse_source(s) for s in sources]
    if not sources:
        raise ValueError("read_union needs at least one (name, root) source")
    splits: dict[str, list[Tracklet]] = {"train": [], "query": [], "gallery": []}
    pid_offset = cam_offset = 0
    names, roots = [], []
    seen: dict[tuple, int] = {}
    for k, (name, root, options) in enumerate(sources):
        key = (name, os.path.realpath(os.fspath(root)), repr(sorted(options.items())))
        if key in seen:
            raise DatasetFormatError(
                f"union source {k + 1} ({name!r} at {os.fspath(root)!r}) repeats source "
                f"{seen[key] + 1}: its tracklets would be counted twice")
        seen[key] = k
        reader = DATASETS.get(name)
        index = reader(root, **options)
        if not isinstance(index, ReIDIndex):
            raise TypeError(f"dataset {name!r} is not a re-ID dataset (got {type(index).__name__})")
        names.append(name)
        roots.append(os.fspath(root))
        all_tracklets = [*index.train, *index.query, *index.gallery]
        negative = next((t for t in all_tracklets if t.pid < 0 or t.camid < 0), None)
        if negative is not None:
            raise DatasetFormatError(
                f"union source {k + 1} ({name!r} at {os.fspath(root)!r}): tracklet "
                f"{negative.frames[0] if negative.frames else '(no frames)'!r} has pid "
                f"{negative.pid}, camid {negative.camid}; the id offsets need pids and camids >= 0")
        for split in ("train", "query", "gallery"):
            target = "train" if all_to_train else split
            for t in getattr(index, split):
                if all_to_train and split != "train" and t.pid == 0:
                    continue
                meta = {**t.meta, "dataset": name, "orig_pid": t.pid, "orig_camid": t.camid}
                splits[target].append(
                    replace(t, pid=t.pid + pid_offset, camid=t.camid + cam_offset, meta=meta)
                )
        if all_tracklets:
            pid_offset += max(t.pid for t in all_tracklets) + 1
            cam_offset += max(t.camid for t in all_tracklets) + 1
    return ReIDIndex(
        name="union(" + "+".join(names) + ")",
        root=os.pathsep.join(roots),
        train=splits["train"],
        query=splits["query"],
        gallery=splits["gallery"],
    )


@DATASETS.register("union")
def _read_union_registered(root, **options: Any) -> ReIDIndex:
    """`read_dataset("union", [(name, root), ...], all_to_train=False)`."""
    if isinstance(root, (str, os.PathLike)):
        raise TypeError("the 'union' dataset takes a list of (name, root) pairs, not a single root")
    return read_union(root, **options)
