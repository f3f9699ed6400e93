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


def tree_digest(root: str | Path, pattern: str = "*") -> str:
    """Content digest of every file under `root` whose name matches `pattern` (relative
    paths and bytes): changes when a file is added, removed, renamed or edited, not when
    the same bytes are rewritten."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: dataset folder not found")
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob(pattern) if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0{file_digest(path)}\n".encode())
    return digest.hexdigest()


def dataset_digest(ref: Any) -> str:
    """Content digest of a configured dataset (a `DatasetRef`; a union digests each source)."""
    sources = ref.sources or (ref,)
    return fingerprint([(s.name, tree_digest(s.root)) for s in sources])


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
