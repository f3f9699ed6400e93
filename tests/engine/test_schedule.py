"""The learning-rate schedule and the optimizers over model and loss parameters."""

import pytest
import torch
from torch import nn

from vreid.engine.schedule import make_optimizer, make_optimizers, warmup_multistep
from vreid.losses import CompositeLoss, build_losses


class WithCentres(nn.Module):
    uses = "features"
    optimizer_settings = {"lr": 0.5}  # a loss's own default, overridable from config

    def __init__(self):
        super().__init__()
        self.centres = nn.Parameter(torch.zeros(3, 2))
        self.frozen = nn.Parameter(torch.zeros(1), requires_grad=False)


def test_warmup_then_step_schedule():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = warmup_multistep(opt, warmup_epochs=2, warmup_factor=0.1, milestones=[3], gamma=0.1)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step(); sched.step()
    assert [round(x, 4) for x in lrs] == [0.1, 0.55, 1.0, 0.1, 0.1]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_parameterless_losses_leave_the_optimizer_as_it_was(kind):
    model = nn.Linear(3, 2)
    opt, own = make_optimizers(kind, list(model.parameters()), build_losses([{"name": "triplet"}]),
                               lr=0.1, weight_decay=5e-4, momentum=0.8)
    plain = make_optimizer(kind, list(model.parameters()), lr=0.1, weight_decay=5e-4, momentum=0.8)
    assert own == {} and type(opt) is type(plain)
    assert opt.state_dict() == plain.state_dict()  # same groups, params, hyper-parameters


def test_loss_parameters_join_as_their_own_group_after_the_model_groups():
    model = nn.Linear(3, 2)
    model_groups = [{"params": [model.weight]}, {"params": [model.bias], "lr": 1.0}]
    loss = WithCentres()
    criterion = CompositeLoss({"centres": (1.0, loss)}, {"centres": {"weight_decay": 0.0}})
    opt, own = make_optimizers("sgd", model_groups, criterion, lr=0.1, weight_decay=5e-4)
    assert own == {} and len(opt.param_groups) == 3
    assert opt.param_groups[1]["lr"] == 1.0 and opt.param_groups[1]["params"] == [model.bias]
    group = opt.param_groups[2]
    assert group["params"] == [loss.centres]  # the frozen parameter is left out
    assert (group["lr"], group["weight_decay"], group["nesterov"]) == (0.5, 0.0, True)
    flat, _ = make_optimizers("adam", list(model.parameters()), criterion, lr=0.1, weight_decay=0)
    assert [g["params"] for g in flat.param_groups] == [[model.weight, model.bias], [loss.centres]]
    # the scheduler scales the loss group with the model's
    sched = warmup_multistep(opt, 1, 0.1, [], 0.1)
    assert opt.param_groups[2]["lr"] == pytest.approx(0.05)
    opt.step(); sched.step()
    assert opt.param_groups[2]["lr"] == pytest.approx(0.5)


def test_a_loss_naming_a_kind_gets_its_own_optimizer():
    model, loss = nn.Linear(3, 2), WithCentres()
    criterion = CompositeLoss({"centres": (1.0, loss)}, {"centres": {"kind": "sgd",
                                                                     "momentum": 0.0}})
    opt, own = make_optimizers("adam", model.parameters(), criterion, lr=3e-4, weight_decay=5e-4)
    assert [g["params"] for g in opt.param_groups] == [list(model.parameters())]
    assert set(own) == {"centres"} and isinstance(own["centres"], torch.optim.SGD)
    group = own["centres"].param_groups[0]
    assert group["params"] == [loss.centres]
    assert (group["lr"], group["momentum"], group["nesterov"], group["weight_decay"]) == \
        (0.5, 0.0, False, 5e-4)
    bad = CompositeLoss({"centres": (1.0, WithCentres())}, {"centres": {"kind": "lbfgs"}})
    with pytest.raises(ValueError, match="loss 'centres': optimizer must be 'adam' or 'sgd'"):
        make_optimizers("adam", model.parameters(), bad, lr=3e-4, weight_decay=0)


def test_adam_epsilon_is_configurable_and_reaches_the_optimizer():
    """Paper 003 sec. III-C trains PersonVLAD with Adam at epsilon 1e-4 (`train.adam_eps`)."""
    from vreid.config import TrainConfig, from_dict
    from vreid.pipeline.train import build_optimizers

    model = nn.Linear(3, 2)
    assert TrainConfig().adam_eps == 1e-8  # torch's default: every existing run unchanged
    t = from_dict(TrainConfig, {"adam_eps": 1e-4})
    opt, _ = build_optimizers(t, model, build_losses([{"name": "triplet"}]))
    assert opt.param_groups[0]["eps"] == 1e-4
    with pytest.raises(Exception, match="adam_eps"):
        from_dict(TrainConfig, {"adam_eps": 0}, "x.yaml")
