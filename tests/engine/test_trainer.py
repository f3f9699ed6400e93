"""The trainer on a tiny synthetic problem with a few-parameter model: learns, is
deterministic, resumes exactly (losses with parameters and buffers included)."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vreid.engine import CheckpointHook, Hook, Trainer, latest_checkpoint, load_checkpoint
from vreid.engine.checkpoint import atomic_torch_save
from vreid.engine.schedule import make_optimizers, warmup_multistep
from vreid.losses import BatchHardTriplet, CompositeLoss, CrossEntropyLabelSmooth, build_losses

LOSSES = [{"name": "cross_entropy", "kwargs": {"label_smoothing": 0.1}},
          {"name": "triplet", "kwargs": {"margin": 0.3}}]

# Loss history of this file's run (TinyClipNet, ColourClips, LOSSES, Adam lr 1e-2, seed 0,
# 4 epochs), recorded with the trainer as it was before batches became dicts and losses
# part of the module tree (tuple batches, `loss(outputs[uses], labels)`).
HISTORY_BEFORE_BATCH_DICTS = [
    {"loss_cross_entropy": 1.8546356558799744, "loss_triplet": 0.05453662946820259,
     "loss_total": 1.909172236919403, "accuracy": 0.0625, "lr": 0.001},
    {"loss_cross_entropy": 1.815464735031128, "loss_triplet": 0.1387878954410553,
     "loss_total": 1.9542526006698608, "accuracy": 0.0625, "lr": 0.01},
    {"loss_cross_entropy": 1.5805470943450928, "loss_triplet": 0.09857513755559921,
     "loss_total": 1.6791222095489502, "accuracy": 0.1875, "lr": 0.01},
    {"loss_cross_entropy": 1.437899887561798, "loss_triplet": 0.17011473327875137,
     "loss_total": 1.6080146431922913, "accuracy": 0.25, "lr": 0.001},
]


class TinyClipNet(nn.Module):
    """Clips [B, T, 3, H, W] -> mean colour -> 8-d features (+ BN buffers) -> logits."""

    def __init__(self, num_classes=4, dim=8):
        super().__init__()
        self.embed = nn.Linear(3, dim)
        self.bn = nn.BatchNorm1d(dim)
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, clips):
        features = self.embed(clips.mean(dim=(1, 3, 4)))
        if not self.training:
            return features
        return {"features": features, "logits": self.classifier(self.bn(features))}


class ColourClips(Dataset):
    """Identity = a colour; clips [2, 3, 4, 2] with noise drawn from the global RNG."""

    def __init__(self, n_ids=4, per_id=4, extra=False):
        self.labels = [i // per_id for i in range(n_ids * per_id)]
        self.colours = torch.rand(n_ids, 3, 1, 1, generator=torch.Generator().manual_seed(0))
        self.extra = extra

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        y = self.labels[i]
        clip = self.colours[y].expand(2, 3, 4, 2) + 0.3 * torch.randn(2, 3, 4, 2)
        item = {"clips": clip, "labels": y, "camids": i % 2}
        if self.extra:  # what an augmentation adds, e.g. which frames it erased
            item["erased"] = torch.tensor([True, False])
        return item


class ToyCentres(nn.Module):
    """Test-only loss with state: learnt class centres (a parameter, like a centre loss) and
    a momentum memory of features per class (a buffer, like OIM's lookup table)."""

    uses = "features"
    batch_keys = ("labels",)

    def __init__(self, num_classes, dim=8):
        super().__init__()
        self.centres = nn.Parameter(torch.randn(num_classes, dim))
        self.register_buffer("memory", torch.zeros(num_classes, dim))

    def forward(self, outputs, batch):
        features, labels = outputs[self.uses], batch["labels"]
        loss = (features - self.centres[labels]).pow(2).sum(1).mean() \
            + 0.1 * (features - self.memory[labels]).pow(2).sum(1).mean()
        with torch.no_grad():
            self.memory[labels] = 0.5 * self.memory[labels] + 0.5 * features.detach()
        return loss


class BatchSpy(nn.Module):
    """Records the batch keys and devices the criterion sees."""

    uses = "logits"

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, outputs, batch):
        self.seen.append({k: getattr(v, "device", None) for k, v in batch.items()})
        return outputs[self.uses].sum() * 0


def make_trainer(hooks=(), seed=0, centres=None, dataset=None, criterion=None):
    """`centres`: None (no stateful loss) or the ToyCentres term's optimizer settings."""
    torch.manual_seed(seed)
    model = TinyClipNet()
    if criterion is None and centres is None:
        criterion = build_losses(LOSSES)  # the config path
    elif criterion is None:
        criterion = CompositeLoss({"cross_entropy": (1.0, CrossEntropyLabelSmooth(0.1)),
                                   "triplet": (1.0, BatchHardTriplet(0.3)),
                                   "centres": (0.1, ToyCentres(num_classes=4))},
                                  {"centres": centres})
    opt, loss_opts = make_optimizers("adam", model.parameters(), criterion, lr=1e-2,
                                     weight_decay=0.0)
    sched = warmup_multistep(opt, 1, 0.1, [3], 0.1)
    loader = DataLoader(dataset or ColourClips(), batch_size=8, shuffle=True)
    return Trainer(model, criterion, opt, sched, loader, loss_optimizers=loss_opts, seed=seed,
                   hooks=hooks)


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


def test_fit_counts_the_clips_and_frames_it_trained_on_and_times_only_its_epochs(tmp_path):
    import time

    class SlowEpochEnd(Hook):  # an epoch-end hook (checkpoints, validation) is not timed
        def on_epoch_end(self, trainer, epoch, metrics):
            time.sleep(0.2)

    trainer = make_trainer([SlowEpochEnd()])
    started = time.perf_counter()
    tp = trainer.fit(3).throughput
    wall = time.perf_counter() - started
    assert (tp.items, tp.frames) == (3 * 16, 3 * 16 * 2)  # 16 clips of 2 frames per epoch
    assert 0 < tp.seconds <= wall - 3 * 0.2
    assert tp.frames_per_s == pytest.approx(2 * tp.items_per_s) and tp.items_per_s > 0
    # a run resumed after its last epoch trains nothing: no clip, no rate
    hook = CheckpointHook(tmp_path)
    make_trainer([hook]).fit(2)
    again = make_trainer([CheckpointHook(tmp_path)]).fit(2)
    assert again.epochs_run == 0 and again.throughput.items == 0
    assert again.throughput.items_per_s == 0.0


def test_same_loss_history_as_before_batch_dicts():
    """A parameterless criterion: same RNG draws, same optimizer group, same numbers."""
    history = make_trainer().fit(4).history
    # rel 1e-5: the recorded run and this one may use different torch thread counts (a
    # pipeline test sets them), which reorders float reductions by ~3e-6 relative; a
    # refactor that changes the maths moves these numbers by far more.
    assert [set(h) for h in history] == [set(h) for h in HISTORY_BEFORE_BATCH_DICTS]
    for got, before in zip(history, HISTORY_BEFORE_BATCH_DICTS):
        assert got == pytest.approx(before, rel=1e-5, abs=1e-9)


def test_deterministic_given_seed():
    a = make_trainer(seed=1, centres={}).fit(2).history
    b = make_trainer(seed=1, centres={}).fit(2).history
    assert a == b


def test_criterion_sees_the_whole_batch_on_the_device():
    spy = BatchSpy()
    trainer = make_trainer(dataset=ColourClips(extra=True),
                           criterion=CompositeLoss({"spy": (1.0, spy)}))
    moved = []
    to = trainer.criterion.to
    trainer.criterion.to = lambda device: moved.append(device) or to(device)
    trainer.fit(1)
    assert moved == [torch.device("cpu")]
    assert set(spy.seen[0]) == {"clips", "labels", "camids", "erased"}
    assert all(device == torch.device("cpu") for device in spy.seen[0].values())


def test_stateful_loss_is_trained_and_updates_its_buffer():
    trainer = make_trainer(centres={"kind": "sgd", "lr": 0.5, "momentum": 0.0})
    loss = trainer.criterion.terms["centres"]
    before = loss.centres.detach().clone()
    trainer.fit(1)
    assert set(trainer.loss_optimizers) == {"centres"}
    assert trainer.loss_optimizers["centres"].param_groups[0]["lr"] == 0.5
    assert not torch.equal(loss.centres, before) and loss.memory.abs().sum() > 0


@pytest.mark.parametrize("centres", [
    {},  # joins the main optimizer as its own group, scheduled with it
    {"lr": 0.05, "weight_decay": 1e-4},  # own group, own hyper-parameters
    {"kind": "sgd", "lr": 0.5, "momentum": 0.0},  # own optimizer (paper 001's centre SGD)
], ids=["main-group", "own-group", "own-optimizer"])
def test_resume_matches_uninterrupted_bit_for_bit(tmp_path, centres):
    full = make_trainer([CheckpointHook(tmp_path / "full")], centres=centres)
    full_history = full.fit(3).history
    make_trainer([CheckpointHook(tmp_path / "part")], centres=centres).fit(2)  # "interrupted"
    resumed_hook = CheckpointHook(tmp_path / "part")
    resumed = make_trainer([resumed_hook], centres=centres)
    result = resumed.fit(3)
    assert resumed_hook.resumed_from.name == "epoch_001.pt"
    assert result.start_epoch == 2 and result.epochs_run == 1
    assert result.history == full_history[2:]
    a, b = load_checkpoint(tmp_path / "full" / "epoch_002.pt"), load_checkpoint(
        tmp_path / "part" / "epoch_002.pt")
    assert set(a) == {"model", "criterion", "optimizer", "loss_optimizers", "scheduler", "epoch",
                      "metrics", "fingerprint"}
    assert {"terms.centres.centres", "terms.centres.memory"} <= set(a["criterion"])
    assert set(a["loss_optimizers"]) == ({"centres"} if "kind" in centres else set())
    assert_same(a, b)


@pytest.mark.parametrize("keep_last", [1, 2])
def test_keeps_only_the_newest_checkpoints_and_still_resumes(tmp_path, keep_last):
    make_trainer([CheckpointHook(tmp_path, keep_last=keep_last)]).fit(3)
    kept = sorted(p.name for p in tmp_path.glob("epoch_*.pt"))
    assert kept == ["epoch_000.pt", "epoch_001.pt", "epoch_002.pt"][-keep_last:]
    hook = CheckpointHook(tmp_path, keep_last=keep_last)
    result = make_trainer([hook]).fit(4)  # resumes from the newest one kept
    assert hook.resumed_from.name == "epoch_002.pt" and result.epochs_run == 1
    assert len(list(tmp_path.glob("epoch_*.pt"))) == keep_last
    with pytest.raises(ValueError, match="keep_last must be >= 1"):
        CheckpointHook(tmp_path, keep_last=0)


def assert_same(a, b, path="checkpoint"):
    """Exact equality of nested state (tensors compared bit for bit)."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}.{i}")
    else:
        assert a == b, path


def test_resume_refuses_a_checkpoint_without_the_loss_state(tmp_path):
    make_trainer([CheckpointHook(tmp_path)], centres={"kind": "sgd", "lr": 0.5}).fit(1)
    path = latest_checkpoint(tmp_path)
    state = load_checkpoint(path)
    atomic_torch_save({k: v for k, v in state.items() if k != "loss_optimizers"}, path)
    with pytest.raises(ValueError, match=r"epoch_000.pt: holds loss optimizers \[\]"):
        make_trainer([CheckpointHook(tmp_path)], centres={"kind": "sgd", "lr": 0.5}).fit(2)
    atomic_torch_save({k: v for k, v in state.items() if k != "criterion"}, path)
    with pytest.raises(ValueError, match="epoch_000.pt: the loss state does not fit"):
        make_trainer([CheckpointHook(tmp_path)], centres={"kind": "sgd", "lr": 0.5}).fit(2)


def test_changed_fingerprint_sets_old_checkpoints_aside_and_starts_over(tmp_path):
    make_trainer([CheckpointHook(tmp_path, fingerprint="a")]).fit(1)
    kept = load_checkpoint(latest_checkpoint(tmp_path))
    hook = CheckpointHook(tmp_path, fingerprint="b")
    result = make_trainer([hook]).fit(1)
    assert hook.resumed_from is None and result.start_epoch == 0
    aside = tmp_path / "stale-a" / "epoch_000.pt"  # kept, not deleted (issue 15 item 3)
    assert_same(load_checkpoint(aside), kept)
    assert load_checkpoint(latest_checkpoint(tmp_path))["fingerprint"] == "b"


def test_loss_parameters_outside_every_optimizer_are_refused():
    model, criterion = TinyClipNet(), CompositeLoss({"centres": (1.0, ToyCentres(4))})
    opt = torch.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match=r"loss parameters \['terms.centres.centres'\]"):
        Trainer(model, criterion, opt, warmup_multistep(opt, 0, 1.0, [], 0.1), [])


def test_batches_must_be_dicts_with_the_model_input():
    trainer = make_trainer()
    trainer.loader = [(torch.zeros(2, 2, 3, 4, 2), torch.tensor([0, 1]), torch.tensor([0, 0]))]
    with pytest.raises(TypeError, match="dict batches, got tuple"):
        trainer.fit(1)
    trainer.loader = [{"images": torch.zeros(2, 3, 4, 2), "labels": torch.tensor([0, 1])}]
    with pytest.raises(KeyError, match=r"no 'clips' \(the model input\); it has \['images'"):
        trainer.fit(1)
