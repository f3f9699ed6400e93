"""Frame trunks: named stages compose to the forward pass, declared stage channels hold."""

import pytest
import torch

from vreid.models import BACKBONES

# (name, kwargs, frame size) per registered trunk; Inception needs >= 43 px per side
# (output stride 32: test_inception_output_stride_32_is_torchvision_plain)
TRUNKS = [("resnet", {"depth": 18}, (32, 16)), ("resnet", {"depth": 50}, (32, 16)),
          ("resnet_dilated", {"depth": 18}, (32, 16)), ("inception_v3", {}, (48, 48))]


def test_every_trunk_is_covered():
    assert {name for name, _, _ in TRUNKS} == set(BACKBONES.names())


@pytest.mark.parametrize("name,kwargs,size", TRUNKS)
def test_stages_compose_to_forward_with_declared_channels(name, kwargs, size):
    torch.manual_seed(0)
    trunk = BACKBONES.get(name)(**kwargs).eval()
    x = torch.randn(2, 3, *size)
    stages = trunk.named_stages()
    assert [n for n, _ in stages] == list(trunk.stage_channels)
    y = x
    with torch.no_grad():
        for stage_name, stage in stages:
            y = stage(y)
            assert y.shape[1] == trunk.stage_channels[stage_name], stage_name
        # the layout every caller used before stages existed (stem + stages, or body)
        old = trunk.stages(trunk.stem(x)) if hasattr(trunk, "stem") else trunk.body(x)
        assert torch.equal(trunk(x), old) and torch.equal(y, old)
    assert y.shape[1] == trunk.out_channels


def test_resnet_stage_names():
    trunk = BACKBONES.get("resnet")(depth=18)
    assert list(trunk.stage_channels) == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert trunk.stage_channels["layer3"] == 256


def _torchvision_inception(aux_logits=False):
    """Torchvision's Inception3 with random weights (its own init is slow on 2 cores)."""
    from torchvision.models import inception

    net = inception.inception_v3(weights=None, aux_logits=aux_logits, init_weights=False)
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(0.0, 0.05)
    return net.eval()


def test_inception_output_stride_32_is_torchvision_plain():
    """Paper 000 sec. 4.1: the frame extractor is plain Inception-V3 (OS32); only the
    parser's trunk is the OS16 variant (its map size: test_parsing)."""
    plain = BACKBONES.get("inception_v3")(output_stride=32).eval()
    assert plain.output_stride == 32 and not plain.body.transform_input.enabled
    net = _torchvision_inception()
    missing, unexpected = net.load_state_dict(
        {k.removeprefix("body."): v for k, v in plain.state_dict().items()
         if not k.startswith("body.transform_input.")}, strict=False)
    assert not unexpected and {k.split(".")[0] for k in missing} == {"fc"}
    x = torch.randn(1, 3, 160, 96)
    stages = plain.named_stages()
    assert [n for n, _ in stages] == list(plain.stage_channels)
    with torch.no_grad():
        y, ref = x, x
        for name, stage in stages:
            y = stage(y)
            ref = ref if name == "transform_input" else getattr(net, name)(ref)
            assert y.shape[1] == plain.stage_channels[name], name
        assert torch.equal(y, ref) and torch.equal(plain(x), ref)
    assert y.shape[-2:] == (3, 1)  # 160x96 at output stride 32 (unpadded stem)
    with pytest.raises(ValueError, match="output_stride must be 16 or 32"):
        BACKBONES.get("inception_v3")(output_stride=8)


def test_inception_input_transform_follows_local_imagenet_weights(tmp_path):
    """Torchvision sets transform_input=True with its ImageNet weights; ours applies the
    same transform whenever `pretrained` is given, and carries it in the state dict."""
    net = _torchvision_inception(aux_logits=True)  # the ImageNet file has the aux head too
    path = tmp_path / "inception_v3_imagenet.pth"
    torch.save(net.state_dict(), path)
    x = torch.randn(2, 3, 48, 48)
    with_weights = BACKBONES.get("inception_v3")(pretrained=str(path)).eval()
    assert with_weights.body.transform_input.enabled
    net.transform_input = True
    assert torch.allclose(with_weights.body.transform_input(x), net._transform_input(x),
                          atol=1e-6)
    assert torch.equal(with_weights.body.Conv2d_1a_3x3.conv.weight, net.Conv2d_1a_3x3.conv.weight)

    off = BACKBONES.get("inception_v3")(pretrained=str(path), transform_input=False).eval()
    assert not off.body.transform_input.enabled
    assert torch.equal(off.body.transform_input(x), x)
    # A model file rebuilt without `pretrained` (save_model drops it) or a later stage's
    # extractor loaded from a checkpoint gets the transform back with the weights.
    off.load_state_dict(with_weights.state_dict())
    assert off.body.transform_input.enabled
    with torch.no_grad():
        assert torch.equal(off(x), with_weights(x))
