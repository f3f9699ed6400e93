"""A validation split carved from the training identities (for model selection, e.g. tuning).

Hyper-parameters chosen on the test query / gallery would overfit the benchmark, so a
search scores its trials on identities held out of the train split instead: those
identities leave training entirely and form their own query / gallery, built like the
MARS protocol (one query tracklet per identity and camera, every tracklet in the gallery).
"""

from __future__ import annotations

import random
from collections import defaultdict

from .index import ReIDIndex, Tracklet


def validation_split(index: ReIDIndex, num_ids: int, seed: int = 0) -> ReIDIndex:
    """The index with `num_ids` training identities moved to a validation query / gallery.

    Deterministic in (train split, num_ids, seed); the held-out identities are disjoint
    from the remaining training ones. The test query / gallery are dropped, never used.
    """
    by_pid: dict[int, list[Tracklet]] = defaultdict(list)
    for tracklet in index.train:
        by_pid[tracklet.pid].append(tracklet)
    pids = sorted(by_pid)
    if not 0 < num_ids < len(pids):
        raise ValueError(f"{index.root}: cannot hold out {num_ids} of the {len(pids)} training "
                         "identities (need at least one on each side)")
    # Identities seen by one camera only can never be matched across cameras: keep them in training.
    multi_cam = [pid for pid in pids if len({t.camid for t in by_pid[pid]}) > 1]
    if len(multi_cam) < num_ids:
        raise ValueError(f"{index.root}: only {len(multi_cam)} training identities appear in "
                         f"more than one camera; cannot hold out {num_ids}")
    held = set(random.Random(seed).sample(multi_cam, num_ids))
    query: list[Tracklet] = []
    gallery: list[Tracklet] = []
    for pid in sorted(held):
        seen_cams: set[int] = set()
        for tracklet in by_pid[pid]:
            if tracklet.camid not in seen_cams:  # first tracklet of each camera is a query
                seen_cams.add(tracklet.camid)
                query.append(tracklet)
            gallery.append(tracklet)
    train = [t for t in index.train if t.pid not in held]
    return ReIDIndex(f"{index.name}-val", index.root, train, query, gallery)
