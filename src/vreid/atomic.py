"""Atomic file writes: a temp file in the target's folder, renamed over the target once
complete, so a reader never sees half a file and a failed write keeps the old one.

The file ends with the mode a plain open() would give it (an existing file's mode, else
0o666 less the umask): `tempfile.mkstemp` creates 0600, which left metrics unreadable
to the group. Standard library only: the core layers import it.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def _create_temp(path: Path) -> Path:
    """An empty, new temp file beside `path`, created as open() would create `path`."""
    keep = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:  # O_EXCL: never another writer's temp; mode 0o666 goes through the umask
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            if keep is not None:
                os.fchmod(fd, keep)
        finally:
            os.close(fd)
        return tmp


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path to write; it replaces `path` when the block succeeds and is
    removed when it raises. Nest two blocks to replace two files only if both writes
    succeed (the inner file is renamed first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
