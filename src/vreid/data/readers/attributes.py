"""Per-identity attributes beside a dataset: `<root>/attributes.csv`.

Format (UTF-8 CSV, one header line, one line per person)::

    pid,hat,sunglasses,scarf,coat,backpack,handbag,phone
    1,0,0,0,1,1,0,0
    2,1,0,0,0,0,0,1

The first column is `pid` (the dataset's own person id, an integer as in its file
names); every other column is one boolean attribute, `0` or `1`, named by a lower-case
identifier (`[a-z][a-z0-9_]*`). A person is listed at most once; persons not listed have
unknown attributes (they count in no attribute subset).

"Has attribute" is a property of the IDENTITY, not of a tracklet: the synthetic
generator draws accessories once per person (`synth.appearance.sample_identity`) and
`prepare` writes that draw, even when a tracklet hides the item (occluded, truncated,
a back view hiding a phone). Paper 004's table 7 labels Duke's persons the same way.

The synthetic MARS layout carries this file; real MARS does not, and `read_attributes`
then returns None. Users may supply one in this format (e.g. from a published attribute
annotation) at the dataset root. Standard library only (the synth writer imports it).
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from typing import Mapping

from vreid.data.index import DatasetFormatError

__all__ = ["ATTRIBUTES_FILE", "PersonAttributes", "attributes_path", "format_attributes",
           "read_attributes"]

ATTRIBUTES_FILE = "attributes.csv"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PersonAttributes:
    """Boolean attributes per person: `names` (the columns) and, per pid, the names it has."""

    names: tuple[str, ...]
    by_pid: Mapping[int, frozenset[str]]

    def has(self, pid: int, name: str) -> bool | None:
        """Whether person `pid` has attribute `name` (None: the person is not listed)."""
        got = self.by_pid.get(pid)
        return None if got is None else name in got


def attributes_path(root: str | os.PathLike) -> str:
    return os.path.join(os.fspath(root), ATTRIBUTES_FILE)


def format_attributes(names: tuple[str, ...], by_pid: Mapping[int, Mapping[str, bool]]) -> str:
    """The file's text: `names` as columns, one line per pid in increasing order."""
    for name in names:
        if not _NAME.match(name) or name == "pid":
            raise ValueError(f"attribute name {name!r} is not a lower-case identifier other "
                             "than 'pid'")
    lines = [",".join(("pid", *names))]
    for pid in sorted(by_pid):
        lines.append(",".join([str(int(pid))] + [str(int(bool(by_pid[pid][n]))) for n in names]))
    return "\n".join(lines) + "\n"


def read_attributes(root: str | os.PathLike) -> PersonAttributes | None:
    """The attributes of the dataset at `root`, or None when it has no attributes.csv.

    A malformed file raises `DatasetFormatError` naming the file, the line and the
    problem."""
    path = attributes_path(root)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "r", encoding="utf-8", newline="") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetFormatError(f"cannot read attribute file {path!r}: {exc}") from exc
    return _parse(text, path)


def _parse(text: str, path: str) -> PersonAttributes:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise DatasetFormatError(f"attribute file {path!r} is empty (expected a header "
                                 "'pid,<attribute>,...')")
    names = _header(rows[0], path)
    by_pid: dict[int, frozenset[str]] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        pid, has = _row(row, names, path, lineno)
        if pid in by_pid:
            raise DatasetFormatError(f"attribute file {path!r} line {lineno}: pid {pid} is "
                                     "listed twice")
        by_pid[pid] = has
    return PersonAttributes(names, by_pid)


def _header(header: list[str], path: str) -> tuple[str, ...]:
    cells = [c.strip() for c in header]
    if not cells or cells[0] != "pid":
        raise DatasetFormatError(f"attribute file {path!r} line 1: the header must start "
                                 f"with 'pid', got {','.join(cells)!r}")
    names = tuple(cells[1:])
    for name in names:
        if not _NAME.match(name):
            raise DatasetFormatError(f"attribute file {path!r} line 1: column {name!r} is not "
                                     "a lower-case identifier ([a-z][a-z0-9_]*)")
    duplicate = sorted({n for n in names if names.count(n) > 1} | ({"pid"} & set(names)))
    if duplicate:
        raise DatasetFormatError(f"attribute file {path!r} line 1: column(s) {duplicate} "
                                 "appear more than once")
    return names


def _row(row: list[str], names: tuple[str, ...], path: str,
         lineno: int) -> tuple[int, frozenset[str]]:
    where = f"attribute file {path!r} line {lineno}"
    cells = [c.strip() for c in row]
    if len(cells) != len(names) + 1:
        raise DatasetFormatError(f"{where}: {len(cells)} fields, the header has "
                                 f"{len(names) + 1}")
    try:
        pid = int(cells[0])
    except ValueError:
        raise DatasetFormatError(f"{where}: pid {cells[0]!r} is not an integer") from None
    has = set()
    for name, cell in zip(names, cells[1:]):
        if cell not in ("0", "1"):
            raise DatasetFormatError(f"{where}: column {name!r} is {cell!r}, expected 0 or 1")
        if cell == "1":
            has.add(name)
    return pid, frozenset(has)
