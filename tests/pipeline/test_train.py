"""train_reid's two-step training (paper 003 sec. III-C): the config keys become hooks, and
a tiny 3D PersonVLAD trains with k-means centres fixed for its first epoch."""

import dataclasses

import pytest
import torch

from vreid.config import (ConfigError, FreezeConfig, KMeansInitConfig, StageConfig,
                          TrainConfig, from_dict, load_params)
from vreid.engine import FreezeHook, Hook, KMeansInitHook, cluster_init, load_checkpoint
from vreid.pipeline.common import load_model
from vreid.pipeline.train import train_reid, two_step_hooks


def test_two_step_keys_become_hooks_and_bad_ones_name_the_key():
    assert two_step_hooks(TrainConfig()) == []  # off by default: nothing changes
    t = from_dict(TrainConfig, {"seed": 4, "kmeans_init": True,
                                "freeze": {"params": ["vlad.*"], "epochs": 2}})
    assert t.kmeans_init == KMeansInitConfig(enabled=True)
    kmeans, freeze = two_step_hooks(t)
    assert isinstance(kmeans, KMeansInitHook) and (kmeans.seed, kmeans.batches) == (4, 0)
    assert isinstance(freeze, FreezeHook) and (freeze.patterns, freeze.epochs) == (("vlad.*",), 2)
    with pytest.raises(ValueError, match=r"train.freeze: give both params and epochs"):
        two_step_hooks(dataclasses.replace(t, freeze=FreezeConfig(params=("vlad.*",))))
    with pytest.raises(ConfigError, match=r"train.kmeans_init.batches: Input should be greater"):
        from_dict(StageConfig, {"train": {"kmeans_init": {"enabled": True, "batches": -1}}},
                  "x.yaml")


class StartCentres(Hook):
    """The centres at the start (after k-means) and at the end of each epoch (the
    checkpoints keep only the newest epoch)."""

    def on_train_start(self, trainer):
        self.centres = trainer.model.vlad.centres.detach().clone()
        self.after_epoch = []

    def on_epoch_end(self, trainer, epoch, metrics):
        self.after_epoch.append(trainer.model.vlad.centres.detach().clone())


def test_personvlad_trains_in_two_steps_from_kmeans_centres(in_prepared, tmp_path,
                                                            monkeypatch):
    p = load_params("params.yaml")
    stage = from_dict(StageConfig, {
        "model": {"name": "personvlad3d", "kwargs": {
            "width": 0.0625, "num_parts": 3, "num_clusters": 4, "alpha": 1.0}},
        "input": {"height": 32, "width": 16, "clip_len": 2},
        "train": {"epochs": 2, "ids_per_batch": 3, "instances_per_id": 2, "iters_per_epoch": 2,
                  "warmup_epochs": 0, "milestones": [1], "sampler": "identity",
                  "losses": [{"name": "cross_entropy"}],
                  "kmeans_init": {"enabled": True, "batches": 2},
                  "freeze": {"params": ["vlad.*"], "epochs": 1}}})
    found = []
    real = cluster_init.kmeans_centres
    monkeypatch.setattr(cluster_init, "kmeans_centres",
                        lambda *a, **k: found.append(real(*a, **k)) or found[-1])
    start = StartCentres()  # runs after the k-means hook
    out = train_reid(stage, p.data.video, p.runtime, tmp_path / "model", tmp_path / "ckpt",
                     hooks=[start])
    assert len(found) == 1 and found[0].shape == (4, start.centres.shape[1])
    torch.testing.assert_close(start.centres, torch.from_numpy(found[0]).float())
    assert torch.equal(start.after_epoch[0], start.centres)  # step 1: fixed
    last = load_checkpoint(tmp_path / "ckpt" / "epoch_001.pt")["model"]
    assert torch.equal(last["vlad.centres"], start.after_epoch[1])
    model, _ = load_model(out.model_path)
    assert not torch.equal(model.vlad.centres, start.centres)  # step 2: trained
    assert out.epochs_run == 2
    # a second call resumes from the last checkpoint: no k-means again
    again = train_reid(dataclasses.replace(stage, train=dataclasses.replace(stage.train,
                                                                            epochs=3)),
                       p.data.video, p.runtime, tmp_path / "model", tmp_path / "ckpt")
    assert again.resumed_from_epoch == 2 and again.epochs_run == 1 and len(found) == 1


def test_zero_epochs_write_the_initialised_model_only_where_none_is(in_prepared, tmp_path):
    """Issue 15 item 3: `epochs: 0` (+ --no-resume) replaced a trained model, exit 0."""
    p = load_params("params.yaml")
    stage = from_dict(StageConfig, {
        "model": {"name": "resnet_tap", "kwargs": {"depth": 18}},
        "input": {"height": 32, "width": 16, "clip_len": 2},
        "train": {"epochs": 0, "ids_per_batch": 3, "instances_per_id": 2}})
    out = train_reid(stage, p.data.video, p.runtime, tmp_path / "m", tmp_path / "c")
    assert out.model_path.is_file() and out.epochs_run == 0  # no model yet: written
    before = out.model_path.read_bytes()
    with pytest.raises(ConfigError, match=r"train.epochs: 0 would replace .*m/model.pt with "
                                          r"an untrained model"):
        train_reid(stage, p.data.video, p.runtime, tmp_path / "m", tmp_path / "c", resume=False)
    assert out.model_path.read_bytes() == before
