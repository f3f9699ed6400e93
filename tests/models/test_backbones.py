"""Frame trunks: named stages compose to the forward pass, declared stage channels hold."""

import logging

import pytest
import torch

from vreid.models import BACKBONES
from vreid.models.backbones import REPORTED_KEYS, load_pretrained

# (name, kwargs, frame size) per registered trunk; Inception needs >= 43 px per side
# (output stride 32: test_inception_output_stride_32_is_torchvision_plain)
TRUNKS = [("resnet", {"depth": 18}, (32, 16)), ("resnet", {"depth": 50}, (32, 16)),
          ("resnet_dilated", {"depth": 18}, (32, 16)), ("inception_v3", {}, (48, 48)),
          ("resnet_ibn_a", {"depth": 18}, (32, 16)), ("se_resnet", {"depth": 18}, (32, 16))]


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


def test_inception_input_transform_follows_local_imagenet_weights(tmp_path, caplog):
    """Torchvision sets transform_input=True with its ImageNet weights; ours applies the
    same transform whenever `pretrained` is given, and carries it in the state dict."""
    net = _torchvision_inception(aux_logits=True)  # the ImageNet file has the aux head too
    path = tmp_path / "inception_v3_imagenet.pth"
    torch.save(net.state_dict(), path)
    x = torch.randn(2, 3, 48, 48)
    with caplog.at_level(logging.WARNING):
        with_weights = BACKBONES.get("inception_v3")(pretrained=str(path)).eval()
    assert caplog.records == []  # the auxiliary head the trunk leaves out is no news
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


def _resnet18_file(tmp_path, state=None, name="r18.pt"):
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    path = tmp_path / name
    torch.save(net.state_dict() if state is None else state(net.state_dict()), path)
    return net, path


def test_partial_load_names_missing_and_unexpected_keys(tmp_path, caplog):
    def renamed(state):
        state["conv1.renamed"] = state.pop("conv1.weight")
        del state["fc.bias"]
        return state

    net, path = _resnet18_file(tmp_path, renamed)
    from torchvision.models import resnet18

    target = resnet18(weights=None)
    with caplog.at_level(logging.WARNING, logger="vreid.models.backbones"):
        load_pretrained(target, path)
    (record,) = caplog.records
    message = record.getMessage()
    assert "2 missing from the file [conv1.weight, fc.bias]" in message
    assert "1 unexpected in it [conv1.renamed]" in message
    assert torch.equal(target.layer1[0].conv1.weight, net.layer1[0].conv1.weight)


def test_partial_load_lists_at_most_reported_keys(tmp_path, caplog):
    def prefixed(state):
        return {("extra." if i < REPORTED_KEYS + 3 else "") + k: v
                for i, (k, v) in enumerate(state.items())}

    _, path = _resnet18_file(tmp_path, prefixed)
    from torchvision.models import resnet18

    with caplog.at_level(logging.WARNING, logger="vreid.models.backbones"):
        load_pretrained(resnet18(weights=None), path)
    message = caplog.records[0].getMessage()
    unexpected = message.split("unexpected in it")[1]
    assert f"; {REPORTED_KEYS + 3} unexpected" in message  # BN's num_batches_tracked: filled
    assert unexpected.count("extra.") == REPORTED_KEYS and unexpected.endswith("(3 more)]")


def test_load_unwraps_state_dict_and_dataparallel_prefix_quietly(tmp_path, caplog):
    net, path = _resnet18_file(
        tmp_path, lambda state: {"state_dict": {f"module.{k}": v for k, v in state.items()}})
    from torchvision.models import resnet18

    target = resnet18(weights=None)
    with caplog.at_level(logging.WARNING):
        load_pretrained(target, path)
    assert caplog.records == []
    assert torch.equal(target.conv1.weight, net.conv1.weight)


def test_load_without_any_match_is_an_error_naming_the_files_keys(tmp_path):
    _, path = _resnet18_file(tmp_path, lambda state: {"other.weight": state["conv1.weight"]})
    from torchvision.models import resnet18

    with pytest.raises(ValueError, match=r"no tensor matches .*1 keys: \[other.weight\]"):
        load_pretrained(resnet18(weights=None), path)


def test_bad_depth_and_last_stride_name_the_allowed_values():
    for name in ("resnet", "resnet_ibn_a", "se_resnet"):
        with pytest.raises(ValueError, match=rf"{name} depth must be one of \[18, 34, 50, 101\]"):
            BACKBONES.get(name)(depth=152)
        with pytest.raises(ValueError, match="last_stride must be 1 or 2, got 3"):
            BACKBONES.get(name)(depth=18, last_stride=3)
