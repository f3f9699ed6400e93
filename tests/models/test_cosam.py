"""COSAM (paper 004, sec. 4): NCC (eq. 2), the cost volume (eq. 1), the spatial mask on
the original maps, the common channel weights, the inserts helper and `resnet_cosam`."""

import numpy as np
import pytest
import torch
from torch import nn

from vreid.models import BACKBONES, build_clip_backbone, build_model
from vreid.models.cosam import (COSAM, CoSegmentationMask, cosam_inserts, ncc,
                                stage_map_sizes)

EPS = 1e-4


def ncc_oracle(x: np.ndarray, y: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Eq. 2 pair by pair, in float64: sample std (ddof=1) + eps, dot product over D."""
    out = np.zeros((len(x), len(y)))
    for i, p in enumerate(x):
        for j, q in enumerate(y):
            pn = (p - p.mean()) / (p.std(ddof=1) + eps)
            qn = (q - q.mean()) / (q.std(ddof=1) + eps)
            out[i, j] = (pn * qn).sum() / len(p)
    return out


def test_ncc_matches_a_pairwise_loop():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 7, generator=g), torch.randn(4, 7, generator=g) * 3 + 1
    expected = ncc_oracle(x.double().numpy(), y.double().numpy())
    np.testing.assert_allclose(ncc(x, y).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_ncc_bounds_and_identical_descriptors():
    d = 16
    x = torch.randn(50, d, generator=torch.Generator().manual_seed(1))
    values = ncc(x, x)
    assert values.shape == (50, 50)
    assert values.abs().max() <= 1.0
    # with the sample std an identical pair gives (D-1)/D, not 1: sum (p - mu)^2 = (D-1) s^2
    torch.testing.assert_close(values.diagonal(), torch.full((50,), (d - 1) / d),
                               rtol=1e-3, atol=0)
    torch.testing.assert_close(ncc(x, -x).diagonal(), torch.full((50,), -(d - 1) / d),
                               rtol=1e-3, atol=0)
    assert (values.diagonal() >= values.max(dim=1).values - 1e-6).all()  # best match: itself


def test_ncc_is_invariant_to_a_descriptor_shift_and_positive_scale():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(6, 32, generator=g), torch.randn(3, 32, generator=g)
    scale = torch.rand(6, 1, generator=g) * 4 + 0.5  # per descriptor (illumination)
    shift = torch.randn(6, 1, generator=g) * 10
    torch.testing.assert_close(ncc(x * scale + shift, y), ncc(x, y), rtol=0, atol=1e-3)
    torch.testing.assert_close(ncc(-x, y), -ncc(x, y))  # a negative scale flips the sign


def test_ncc_of_a_constant_descriptor_is_zero_with_finite_gradients():
    x = torch.zeros(2, 8, requires_grad=True)  # e.g. all channels zero after the ReLU
    y = torch.randn(3, 8)
    out = ncc(x, y)
    assert torch.equal(out, torch.zeros(2, 3))
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_ncc_refuses_mismatched_or_too_short_descriptors():
    with pytest.raises(ValueError, match=r"\[M, D\] and \[K, D\]"):
        ncc(torch.randn(2, 4), torch.randn(2, 5))
    with pytest.raises(ValueError, match="at least 2 values"):
        ncc(torch.randn(2, 1), torch.randn(3, 1))


def _cosam(c=6, n=3, size=(3, 2), **kwargs):
    torch.manual_seed(0)
    return COSAM(c, n, size, reduced_dim=kwargs.pop("reduced_dim", 5), **kwargs).eval()


def test_cost_volume_layout_is_eq_1():
    """Channel s*h*w + q at (i, j) of frame n: NCC(F_n^(i,j), F_m^q), m the s-th other frame."""
    b, c, n, (h, w) = 2, 6, 3, (3, 2)
    spatial = CoSegmentationMask(c, n, (h, w), reduced_dim=5).eval()
    frames = torch.randn(b * n, c, h, w)
    volume = spatial.cost_volume(frames)
    assert volume.shape == (b * n, (n - 1) * h * w, h, w)
    with torch.no_grad():
        desc = spatial.reduce(frames).flatten(2).transpose(1, 2).reshape(b, n, h * w, 5)
    for clip in range(b):
        for f in range(n):
            others = [m for m in range(n) if m != f]
            for s, m in enumerate(others):
                expected = ncc(desc[clip, f], desc[clip, m]).T.reshape(h * w, h, w)  # [q, i, j]
                got = volume[clip * n + f, s * h * w:(s + 1) * h * w]
                torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_module_keeps_the_shape_and_masks_lie_in_zero_one():
    cosam = _cosam()
    maps = torch.randn(2, 6, 3, 3, 2)
    with torch.no_grad():
        out, mask = cosam(maps), cosam.mask(maps)
    assert out.shape == maps.shape
    assert mask.shape == (2, 1, 3, 3, 2)
    assert ((mask > 0) & (mask < 1)).all()


class Ones(nn.Module):
    def forward(self, frames):
        return torch.ones(*frames.shape[:2], 1, 1)


def test_spatial_mask_multiplies_the_original_maps():
    cosam = _cosam()
    cosam.channel = Ones()  # channel weights of one: only the spatial step is left
    maps = torch.randn(2, 6, 3, 3, 2)
    with torch.no_grad():
        torch.testing.assert_close(cosam(maps), maps * cosam.mask(maps))


def test_channel_weights_are_the_clip_mean_of_per_frame_weights():
    cosam = _cosam()
    frames = torch.randn(2 * 3, 6, 3, 2)
    with torch.no_grad():
        weights = cosam.channel(frames).view(2, 3, 6)
        per_frame = torch.sigmoid(cosam.channel.mlp(frames.mean(dim=(2, 3)))).view(2, 3, 6)
    torch.testing.assert_close(weights, per_frame.mean(dim=1, keepdim=True).expand(2, 3, 6))
    assert ((weights > 0) & (weights < 1)).all()


def test_frames_mix_within_a_clip_but_not_across_clips():
    cosam = _cosam()
    maps = torch.randn(2, 6, 3, 3, 2)
    changed = maps.clone()
    changed[0, :, 0] += torch.randn(6, 3, 2)  # frame 0 of clip 0 only
    with torch.no_grad():
        before, after = cosam(maps), cosam(changed)
        mask_before, mask_after = cosam.mask(maps), cosam.mask(changed)
    # the other frames' masks and outputs follow (co-segmentation)...
    assert not torch.allclose(mask_before[0, :, 1:], mask_after[0, :, 1:])
    assert not torch.allclose(before[0, :, 1:], after[0, :, 1:])
    # ... the other clip's do not (eval mode: BatchNorm does not couple the batch)
    torch.testing.assert_close(before[1], after[1])


def test_one_frame_is_refused_as_are_other_sizes():
    # N = 1 has no other frame to match: eq. 1's cost volume is empty, so we refuse it
    with pytest.raises(ValueError, match="N >= 2"):
        COSAM(6, 1, (3, 2))
    cosam = _cosam()
    with pytest.raises(ValueError, match="N=3 frames.*got 6 channels, N=1"):
        cosam(torch.randn(2, 6, 1, 3, 2))
    with pytest.raises(ValueError, match="3x2 maps.*got 6 channels, N=3, 4x2"):
        cosam(torch.randn(2, 6, 3, 4, 2))
    with pytest.raises(ValueError, match=r"\[B, C, N, h, w\]"):
        cosam(torch.randn(6, 3, 3, 2))
    with pytest.raises(ValueError, match="reduced_dim must be >= 2"):
        COSAM(6, 3, (3, 2), reduced_dim=1)


def test_stage_map_sizes_leave_the_trunk_as_it_was():
    trunk = BACKBONES.get("resnet")(depth=18, last_stride=1).train()
    stats = trunk.stem[1].running_mean.clone()
    sizes = stage_map_sizes(trunk, 32, 16)
    assert sizes == {"stem": (8, 4), "layer1": (8, 4), "layer2": (4, 2), "layer3": (2, 1),
                     "layer4": (2, 1)}
    assert trunk.training and torch.equal(trunk.stem[1].running_mean, stats)


def test_cosam_inserts_build_at_each_stage_width_and_refuse_unknown_stages():
    trunk = BACKBONES.get("resnet")(depth=18)
    sizes = stage_map_sizes(trunk, 64, 32)
    inserts = cosam_inserts(trunk.stage_channels, map_sizes=sizes, num_frames=2, reduced_dim=4)
    assert list(inserts) == ["layer3", "layer4"]
    for name, module in inserts.items():
        assert module.in_channels == trunk.stage_channels[name]
        assert module.map_size == sizes[name]
        assert module.spatial.summary.in_channels == (2 - 1) * sizes[name][0] * sizes[name][1]
    assert (inserts["layer3"].in_channels, inserts["layer4"].in_channels) == (256, 512)
    with pytest.raises(ValueError, match=r"cannot insert COSAM after \['layer5'\]"):
        cosam_inserts(trunk.stage_channels, ["layer5"], map_sizes=sizes, num_frames=2)
    with pytest.raises(ValueError, match="named twice"):
        cosam_inserts(trunk.stage_channels, ["layer3", "layer3"], map_sizes=sizes, num_frames=2)
    # they plug into build_clip_backbone's inserts
    backbone = build_clip_backbone("resnet", depth=18,
                                   inserts=cosam_inserts(trunk.stage_channels, ["layer2"],
                                                         map_sizes=sizes, num_frames=2,
                                                         reduced_dim=4))
    assert backbone(torch.randn(2, 2, 3, 64, 32)).shape == (2, 512, 2, 4, 2)


def _tiny_model(**kwargs):
    torch.manual_seed(0)
    defaults = dict(num_classes=5, depth=18, clip_len=3, height=32, width=16, reduced_dim=8)
    return build_model("resnet_cosam", **{**defaults, **kwargs})


def test_resnet_cosam_trains_one_step():
    model = _tiny_model().train()
    assert list(model.backbone.inserts) == ["layer3", "layer4"]  # COSAM_{4,5} by default
    clips, labels = torch.randn(4, 3, 3, 32, 16), torch.tensor([0, 1, 2, 3])
    mask_conv = model.backbone.inserts["layer3"].spatial.summary.weight
    before = mask_conv.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy(model(clips)["logits"], labels)
    loss.backward()
    assert torch.isfinite(loss) and mask_conv.grad is not None and mask_conv.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.equal(mask_conv, before)
    assert model.eval()(clips).shape == (4, 512)


def test_resnet_cosam_places_and_sizes_cosam_by_its_kwargs():
    model = _tiny_model(cosam_after=["layer2"], clip_len=2, height=64, width=32,
                        temporal="max")
    (name, cosam), = model.backbone.inserts.items()
    assert name == "layer2" and cosam.in_channels == 128 and cosam.map_size == (8, 4)
    assert cosam.spatial.summary.in_channels == 1 * 8 * 4
    assert model.eval()(torch.randn(2, 2, 3, 64, 32)).shape == (2, 512)
    with pytest.raises(ValueError, match="build the model for the clip length and input size"):
        model(torch.randn(2, 4, 3, 64, 32))
    with pytest.raises(ValueError, match="cannot insert COSAM after"):
        _tiny_model(cosam_after=["Mixed_7c"])


def test_resnet_cosam_is_video_cnn_with_paper_004_defaults():
    model = _tiny_model().eval()
    torch.manual_seed(0)
    generic = build_model("video_cnn", num_classes=5, depth=18, clip_len=3, height=32,
                          width=16, cosam_after=["layer3", "layer4"],
                          cosam_kwargs={"reduced_dim": 8}).eval()
    assert list(model.state_dict()) == list(generic.state_dict())
    clips = torch.randn(2, 3, 3, 32, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(clips), generic(clips), rtol=0, atol=0)
