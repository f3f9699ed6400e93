"""The trainer on a tiny synthetic problem: learns, is deterministic, resumes exactly."""

import torch
from torch.utils.data import DataLoader, Dataset

from vreid.engine import CheckpointHook, Hook, Trainer, latest_checkpoint, warmup_multistep
from vreid.losses import build_losses
from vreid.models import build_model

LOSSES = [{"name": "cross_entropy", "kwargs": {"label_smoothing": 0.1}},
          {"name": "triplet", "kwargs": {"margin": 0.3}}]


class ColourClips(Dataset):
    """Identity = a colour; clips [2, 3, 16, 8] with noise drawn from the global RNG."""

    def __init__(self, n_ids=4, per_id=4):
        self.labels = [i // per_id for i in range(n_ids * per_id)]
        self.colours = torch.rand(n_ids, 3, 1, 1, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        y = self.labels[i]
        clip = self.colours[y].expand(2, 3, 16, 8) + 0.3 * torch.randn(2, 3, 16, 8)
        return clip, y, 0


def make_trainer(hooks=(), seed=0):
    torch.manual_seed(seed)
    model = build_model("resnet_tap", num_classes=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = warmup_multistep(opt, 1, 0.1, [3], 0.1)
    loader = DataLoader(ColourClips(), batch_size=8, shuffle=True)
    return Trainer(model, build_losses(LOSSES), opt, sched, loader, seed=seed, hooks=hooks)


class Recorder(Hook):
    def __init__(self):
        self.steps, self.epochs = 0, []

    def on_step_end(self, trainer, step, terms):
        self.steps += 1

    def on_epoch_end(self, trainer, epoch, metrics):
        self.epochs.append(epoch)


def test_loss_goes_down_and_hooks_called():
    rec = Recorder()
    result = make_trainer([rec]).fit(4)
    first, last = result.history[0]["loss_total"], result.history[-1]["loss_total"]
    assert last < first
    assert rec.epochs == [0, 1, 2, 3] and rec.steps == 8
    assert {"loss_cross_entropy", "loss_triplet", "accuracy", "lr"} <= set(result.history[0])


def test_deterministic_given_seed():
    a = make_trainer(seed=1).fit(2).history
    b = make_trainer(seed=1).fit(2).history
    assert a == b


def test_resume_matches_uninterrupted(tmp_path):
    full = make_trainer([CheckpointHook(tmp_path / "full")])
    full.fit(3)
    part = make_trainer([CheckpointHook(tmp_path / "part")])
    part.fit(2)  # "interrupted" after epoch 2
    resumed_hook = CheckpointHook(tmp_path / "part")
    resumed = make_trainer([resumed_hook], seed=0)
    result = resumed.fit(3)
    assert resumed_hook.resumed_from.name == "epoch_001.pt"
    assert result.start_epoch == 2 and result.epochs_run == 1
    for (k, v), (k2, v2) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert k == k2 and torch.allclose(v.float(), v2.float(), atol=1e-6), k


def test_changed_fingerprint_discards_old_checkpoints(tmp_path):
    make_trainer([CheckpointHook(tmp_path, fingerprint="a")]).fit(1)
    assert latest_checkpoint(tmp_path).name == "epoch_000.pt"
    hook = CheckpointHook(tmp_path, fingerprint="b")
    result = make_trainer([hook]).fit(1)
    assert hook.resumed_from is None and result.start_epoch == 0


def test_warmup_then_step_schedule():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = warmup_multistep(opt, warmup_epochs=2, warmup_factor=0.1, milestones=[3], gamma=0.1)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step(); sched.step()
    assert [round(x, 4) for x in lrs] == [0.1, 0.55, 1.0, 0.1, 0.1]
