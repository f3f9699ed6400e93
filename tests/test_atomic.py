"""Atomic writes: the mode a plain open() gives, no temp file left, old file kept."""

import json
import os
import stat

import pytest

from vreid.atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test, restored after."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_new_file_gets_the_mode_open_gives(tmp_path, umask, mask):
    umask(mask)
    atomic_write_text(tmp_path / "metrics.json", "{}\n")
    with open(tmp_path / "plain.json", "w") as handle:
        handle.write("{}\n")
    assert mode(tmp_path / "metrics.json") == 0o666 & ~mask == mode(tmp_path / "plain.json")


def test_existing_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "report.md"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o640
    path.chmod(0o604)
    atomic_write_bytes(path, b"newer")
    assert path.read_bytes() == b"newer" and mode(path) == 0o604


def test_creates_parents_and_writes_sorted_json(tmp_path):
    path = tmp_path / "a" / "b" / "m.json"
    atomic_write_json(path, {"b": 1, "a": [1, 2]})
    assert path.read_text() == json.dumps({"a": [1, 2], "b": 1}, indent=2) + "\n"
    assert os.listdir(path.parent) == ["m.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"good")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_path(path) as tmp:
            assert tmp.parent == tmp_path and tmp.name.startswith(".model.pt.")
            tmp.write_bytes(b"half")
            raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["model.pt"]


def test_failed_write_of_a_new_file_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "new.json"):
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_nested_blocks_replace_both_or_neither(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "a.md"
    first.write_text("old a")
    second.write_text("old b")
    with pytest.raises(OSError, match="no space"):
        with atomic_path(second) as tmp_b, atomic_path(first) as tmp_a:
            tmp_a.write_text("new a")
            raise OSError("no space left on device")  # while writing the second file
    assert (first.read_text(), second.read_text()) == ("old a", "old b")
    with atomic_path(second) as tmp_b, atomic_path(first) as tmp_a:
        tmp_a.write_text("new a")
        tmp_b.write_text("new b")
    assert (first.read_text(), second.read_text()) == ("new a", "new b")
    assert sorted(os.listdir(tmp_path)) == ["a.json", "a.md"]


def test_core_import_is_standard_library_only():
    import subprocess
    import sys

    code = ("import sys, vreid.atomic; heavy = {'torch', 'numpy', 'yaml', 'pydantic'} & "
            "set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
