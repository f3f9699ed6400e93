"""resnet_tap: same seed, same numbers as the per-frame path it replaced."""

import copy

import torch

from vreid.models import BACKBONES, build_model
from vreid.models.heads import BNNeck


def _old_resnet_tap(seed):
    """The path before clip backbones: trunk on folded frames, GAP, mean over T, BNNeck."""
    torch.manual_seed(seed)
    trunk = BACKBONES.get("resnet")(depth=18, last_stride=1)
    head = BNNeck(trunk.out_channels, 5)

    def forward(clips):
        b, t = clips.shape[:2]
        maps = trunk.stages(trunk.stem(clips.flatten(0, 1)))
        return head(maps.mean(dim=(2, 3)).view(b, t, -1).mean(dim=1))

    return trunk, head, forward


def test_same_seed_same_init_and_same_outputs_as_the_frame_path():
    trunk, head, old_forward = _old_resnet_tap(0)
    torch.manual_seed(0)
    model = build_model("resnet_tap", num_classes=5)
    for new, old in ((model.backbone.trunk, trunk), (model.head, head)):
        new_state, old_state = new.state_dict(), old.state_dict()
        assert list(new_state) == list(old_state)
        assert all(torch.equal(new_state[k], old_state[k]) for k in old_state)

    clips = torch.randn(3, 4, 3, 32, 16)
    old_modules = (copy.deepcopy(trunk), copy.deepcopy(head))
    trained = model.train()(clips)  # train mode: batch statistics, running stats updated
    trunk.train(), head.train()
    expected = old_forward(clips)
    for key in ("features", "embedding", "logits"):
        assert torch.equal(trained[key], expected[key]), key

    trunk.load_state_dict(old_modules[0].state_dict())
    head.load_state_dict(old_modules[1].state_dict())
    model.backbone.trunk.load_state_dict(old_modules[0].state_dict())
    model.head.load_state_dict(old_modules[1].state_dict())
    model.eval(), trunk.eval(), head.eval()
    with torch.no_grad():
        assert torch.equal(model(clips), old_forward(clips)["embedding"])
