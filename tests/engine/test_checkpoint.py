import os
import pickle
import stat

import pytest
import torch

from vreid.engine import atomic_torch_save, latest_checkpoint, load_checkpoint


def test_roundtrip_weights_only(tmp_path):
    path = tmp_path / "a" / "epoch_000.pt"
    atomic_torch_save({"w": torch.ones(2), "epoch": 0}, path)
    assert load_checkpoint(path)["w"].sum() == 2
    assert list(path.parent.iterdir()) == [path]  # no temp file left
    assert latest_checkpoint(path.parent) == path


def test_checkpoint_gets_normal_file_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_torch_save({"w": torch.ones(1)}, tmp_path / "m.pt")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.pt").stat().st_mode) == 0o644  # not mkstemp's 0600


def test_failed_save_keeps_previous(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    atomic_torch_save({"v": torch.zeros(1)}, path)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        atomic_torch_save({"v": torch.ones(1)}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["v"].item() == 0
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_refuses_arbitrary_pickles(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"x": Evil()}, f)
    with pytest.raises(ValueError, match="evil.pt: not a loadable weights-only checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
