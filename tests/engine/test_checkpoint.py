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


def test_refuses_arbitrary_pickles(tmp_path, planted):
    marker, evil = planted
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"x": evil}, f)
    with pytest.raises(ValueError, match="evil.pt: not a loadable weights-only checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("wrap", [
    lambda s: s,  # a plain state dict
    lambda s: {"model_name": "x", "model_kwargs": {}, "state_dict": s},  # save_model's file
    lambda s: {"model": s, "epoch": 3},  # another tool's {"model": ...}
    lambda s: {"state_dict": {f"module.{k}": v for k, v in s.items()}},  # DataParallel
], ids=["plain", "model-file", "model-wrapper", "dataparallel"])
def test_load_state_dict_unwraps_the_known_layouts(tmp_path, wrap):
    from vreid.engine.checkpoint import load_state_dict

    state = {"a.weight": torch.ones(2), "b.bias": torch.zeros(1)}
    atomic_torch_save(wrap(state), tmp_path / "w.pt")
    got = load_state_dict(tmp_path / "w.pt")
    assert set(got) == set(state) and torch.equal(got["a.weight"], state["a.weight"])


def test_load_state_dict_errors_name_the_file_and_what_it_should_be(tmp_path):
    from vreid.engine.checkpoint import load_state_dict

    with pytest.raises(FileNotFoundError, match="pretrained weights not found: .*nope.pt"):
        load_state_dict(tmp_path / "nope.pt", "pretrained weights")
    atomic_torch_save({"epoch": 3, "model": {"name": "x"}}, tmp_path / "cfg.pt")
    with pytest.raises(ValueError, match="cfg.pt: not a model file or a state dict"):
        load_state_dict(tmp_path / "cfg.pt")
