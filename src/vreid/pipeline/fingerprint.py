"""What a run's checkpoints depend on, as a short hash.

A stage resumes from its checkpoints only when their fingerprint matches: changed
settings, data location or upstream model files start the stage afresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from .common import INIT_ONLY_KWARGS



def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upstream_files(model_kwargs: Mapping[str, Any]) -> dict[str, str]:
    """Digests of the files a model's kwargs point at (missing files are left to the builder)."""
    return {key: file_digest(model_kwargs[key]) for key in INIT_ONLY_KWARGS
            if model_kwargs.get(key) and Path(model_kwargs[key]).is_file()}


def fingerprint(*parts: Any) -> str:
    def plain(obj: Any) -> Any:
        return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj

    text = json.dumps([plain(p) for p in parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tracklets_fingerprint(tracklets: Iterable[Any], root: str | Path = "") -> str:
    """What a set of tracklets is: frame paths (relative to `root`), file sizes, ids and
    cameras. File sizes stand in for contents, so fingerprinting MARS-sized sets takes
    seconds; a frame rewritten to the same size goes unnoticed."""
    digest = hashlib.sha256()
    for t in tracklets:
        frames = [(os.path.relpath(f, root) if root else f, os.path.getsize(f))
                  for f in t.frames]
        digest.update(json.dumps([t.pid, t.camid, frames]).encode())
    return digest.hexdigest()[:16]
