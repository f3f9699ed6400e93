"""Paper 003's two-step training as hooks: k-means centres from the training descriptors
(planted clusters), fixed for the first epochs (`FreezeHook`), trained after; a resumed run
keeps the checkpoint's centres and runs no k-means."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vreid.engine import (CheckpointHook, FreezeHook, Hook, KMeansInitHook, Trainer,
                          kmeans_centres)
from vreid.engine import cluster_init
from vreid.engine.schedule import make_optimizers, warmup_multistep
from vreid.losses import build_losses
from vreid.models.netvlad import NetVLAD

PLANTED = torch.tensor([[4.0, 0.0], [-4.0, 0.0], [0.0, 6.0]])  # three 2-d cluster means


class PlantedClips(Dataset):
    """Clips [2, 2, 2, 2] (T, C, H, W) whose 8 pixels are 2-d points near one planted
    mean each; the label is the mean of the first pixel. Noise from the global RNG."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        which = torch.randint(0, 3, (8,))
        points = PLANTED[which] + 0.3 * torch.randn(8, 2)  # [8, 2]
        clip = points.T.reshape(2, 2, 2, 2).permute(1, 0, 2, 3)  # [T, C, H, W]
        return {"clips": clip.contiguous(), "labels": int(which[0]), "camids": 0}


class VladNet(nn.Module):
    """Every pixel of a clip is a 2-d descriptor of a NetVLAD (K = 3) -> BN -> logits."""

    def __init__(self):
        super().__init__()
        self.vlad = NetVLAD(2, 3, alpha=1.0)
        self.bn = nn.BatchNorm1d(6)
        self.classifier = nn.Linear(6, 3)

    def forward(self, clips):
        maps = clips.permute(0, 2, 1, 3, 4)  # [B, C, T, H, W]: T*H*W descriptors
        v = self.vlad(maps)
        return {"logits": self.classifier(self.bn(v))} if self.training else v


def make_trainer(hooks, seed=0, model_seed=0):
    torch.manual_seed(model_seed)
    model = VladNet()
    criterion = build_losses([{"name": "cross_entropy"}], num_classes=3)
    optimizer, _ = make_optimizers("adam", list(model.parameters()), criterion, 0.05, 0.0, 0.9)
    scheduler = warmup_multistep(optimizer, 0, 0.1, (100,), 0.1)
    loader = DataLoader(PlantedClips(), batch_size=4, shuffle=False)
    return Trainer(model, criterion, optimizer, scheduler, loader, seed=seed, hooks=hooks)


def descriptors_seen(trainer, batches):
    """The descriptors of the first `batches` batches of epoch 0, drawn by hand."""
    trainer.set_epoch(0)
    out = []
    for i, batch in enumerate(trainer.loader):
        if i < batches:
            out.append(batch["clips"].permute(0, 2, 1, 3, 4).reshape(4, 2, -1)
                       .transpose(1, 2).reshape(-1, 2))
    return torch.cat(out).double().numpy()


class Centres(Hook):
    """The NetVLAD centres and the classifier weight at the end of each epoch."""

    def __init__(self):
        self.centres, self.classifier = [], []

    def on_epoch_end(self, trainer, epoch, metrics):
        self.centres.append(trainer.model.vlad.centres.detach().clone())
        self.classifier.append(trainer.model.classifier.weight.detach().clone())


def test_kmeans_init_sets_the_centres_to_the_kmeans_of_the_planted_descriptors():
    hook = KMeansInitHook(batches=2, iterations=20, seed=3)
    trainer = make_trainer([hook])
    bn_before = trainer.model.bn.running_mean.clone()
    trainer.fit(0)  # on_train_start only
    assert hook.ran
    want = kmeans_centres(descriptors_seen(make_trainer([]), 2), 3, seed=3, iterations=20)
    vlad = trainer.model.vlad
    np.testing.assert_allclose(vlad.centres.detach().numpy(), want, rtol=1e-6, atol=1e-6)
    # the planted means are found (in some order), and eq. 5's assignment follows them
    found = sorted(map(tuple, np.round(vlad.centres.detach().numpy(), 0)))
    assert found == sorted(map(tuple, PLANTED.numpy()))
    torch.testing.assert_close(vlad.assign.weight.squeeze(-1), 2 * vlad.alpha * vlad.centres)
    # the pass ran in training mode but left the batch-norm statistics as they were
    torch.testing.assert_close(trainer.model.bn.running_mean, bn_before)
    # seeded: a fresh run (another model initialisation) finds the same centres
    again = make_trainer([KMeansInitHook(batches=2, iterations=20, seed=3)], model_seed=5)
    again.fit(0)
    torch.testing.assert_close(again.model.vlad.centres, vlad.centres)


def test_kmeans_refuses_a_model_without_centres_and_too_few_descriptors():
    trainer = make_trainer([KMeansInitHook()])
    trainer.model.vlad = nn.Identity()
    with pytest.raises(ValueError, match="train.kmeans_init: VladNet has no clustered"):
        trainer.fit(0)
    with pytest.raises(ValueError, match="needs at least 3 distinct descriptors, got 2"):
        kmeans_centres(np.zeros((2, 2)) + np.arange(2)[:, None], 3, 0, 5)


def test_frozen_centres_stay_for_their_epochs_and_train_after():
    record = Centres()
    kmeans = KMeansInitHook(batches=1, seed=0)
    trainer = make_trainer([kmeans, FreezeHook(["vlad.*"], epochs=2), record])
    init = {}
    trainer.hooks.insert(1, type("Init", (Hook,), {"on_train_start": lambda self, t: init.update(
        centres=t.model.vlad.centres.detach().clone())})())
    trainer.fit(4)
    assert torch.equal(record.centres[0], init["centres"])
    assert torch.equal(record.centres[1], init["centres"])
    assert not torch.allclose(record.centres[2], init["centres"])  # step 2: joint training
    assert not torch.allclose(record.classifier[0], record.classifier[1])  # the rest trains
    assert all(p.requires_grad for p in trainer.model.parameters())  # saved as trainable
    with pytest.raises(ValueError, match=r"train.freeze.params: 'aggregation\.\*' matches no"):
        make_trainer([FreezeHook(["aggregation.*"], 1)]).fit(1)


def test_a_resumed_run_keeps_the_checkpoints_centres_and_runs_no_kmeans(tmp_path, monkeypatch):
    def hooks(directory):
        return [CheckpointHook(directory), KMeansInitHook(batches=1, seed=0),
                FreezeHook(["vlad.*"], epochs=2)]

    whole = make_trainer(hooks(tmp_path / "whole"))
    whole.fit(3)
    first = make_trainer(hooks(tmp_path / "split"))
    first.fit(2)  # killed after epoch 1, then restarted with a fresh model
    calls = []
    real = cluster_init.kmeans_centres
    monkeypatch.setattr(cluster_init, "kmeans_centres",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    resumed_hooks = hooks(tmp_path / "split")
    resumed = make_trainer(resumed_hooks, model_seed=7)
    resumed.fit(3)
    assert resumed.start_epoch == 2 and calls == [] and not resumed_hooks[1].ran
    torch.testing.assert_close(resumed.model.vlad.centres, whole.model.vlad.centres)
    torch.testing.assert_close(resumed.model.classifier.weight, whole.model.classifier.weight)
