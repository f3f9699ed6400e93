"""The common dataset index every reader returns (see DESIGN.md, "Data").

Video sets give tracklets (frame paths in temporal order); image sets give
one-frame tracklets, so the same training and evaluation code serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


class DatasetFormatError(ValueError):
    """A dataset on disk is missing a file or has a malformed one; the message names it."""


@dataclass(frozen=True)
class Tracklet:
    frames: tuple[str, ...]
    pid: int
    camid: int
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsingSample:
    image: str
    label: str


@dataclass
class ReIDIndex:
    """Train / query / gallery tracklets of one re-ID dataset."""

    name: str
    root: str
    train: list[Tracklet]
    query: list[Tracklet]
    gallery: list[Tracklet]
    # dataset-level extras, e.g. EgoReID's per-camera sensor streams ("sensors")
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def num_train_pids(self) -> int:
        return len({t.pid for t in self.train})

    @property
    def num_cams(self) -> int:
        return len({t.camid for t in (*self.train, *self.query, *self.gallery)})


@dataclass
class ParsingIndex:
    """Image / label pairs of a human-parsing dataset (LIP layout)."""

    name: str
    root: str
    train: list[ParsingSample]
    val: list[ParsingSample]
