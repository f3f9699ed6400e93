"""Per-frame random erasing that records which frames it erased (the `erased` batch key)."""

import pytest
import torch
from PIL import Image
from torch.utils.data import default_collate

from vreid.config import ConfigError, InputConfig, RandomErasingConfig, from_dict
from vreid.data.clip_dataset import TrainClips
from vreid.data.index import Tracklet
from vreid.data.transforms import FrameErasing, build_transform


def test_erased_labels_match_the_pixels_erased():
    torch.manual_seed(0)
    clip = torch.randn(16, 3, 16, 8)
    out, erased = FrameErasing(0.5, value=0.0)(clip.clone())
    assert out.shape == clip.shape and erased.shape == (16,) and erased.dtype == torch.bool
    assert 0 < erased.sum() < 16  # both kinds drawn at this seed
    for t in range(16):
        changed = out[t] != clip[t]
        if erased[t]:
            assert changed.any() and torch.all(out[t][changed] == 0)  # the fill value
        else:
            assert torch.equal(out[t], clip[t])


def test_p_zero_never_erases_and_draws_nothing():
    clip = torch.randn(4, 3, 16, 8)
    torch.manual_seed(1)
    out, erased = FrameErasing(0.0)(clip)
    assert torch.equal(out, clip) and not erased.any()
    after = torch.rand(1)
    torch.manual_seed(1)
    assert torch.equal(torch.rand(1), after)  # the RNG stream is untouched


def test_p_one_erases_every_frame_each_on_its_own_rectangle():
    torch.manual_seed(2)
    clip = torch.randn(6, 3, 32, 16)
    out, erased = FrameErasing(1.0)(clip.clone())
    assert erased.all()
    masks = [out[t] != clip[t] for t in range(6)]
    assert any(not torch.equal(masks[0], m) for m in masks[1:])  # not one shared draw


def test_refuses_a_bad_probability_or_shape():
    with pytest.raises(ValueError, match="p must be a probability"):
        FrameErasing(1.5)
    with pytest.raises(ValueError, match=r"clip \[T, C, H, W\]"):
        FrameErasing(0.5)(torch.zeros(3, 8, 8))


def test_train_clips_add_erased_and_the_batch_stacks_it(tmp_path):
    paths = []
    for i in range(4):
        p = tmp_path / f"f{i}.png"
        Image.effect_noise((8, 16), 64 + 16 * i).convert("RGB").save(p)
        paths.append(str(p))
    tracklets = [Tracklet(tuple(paths), 7, 0), Tracklet(tuple(paths[:2]), 3, 1)]
    transform = build_transform(16, 8, train=False)
    plain = TrainClips(tracklets, 4, "evenly", transform)
    assert "erased" not in plain[0]
    ds = TrainClips(tracklets, 4, "evenly", transform, erasing=FrameErasing(0.5))
    torch.manual_seed(3)
    batch = default_collate([ds[0], ds[1]])
    assert batch["erased"].shape == (2, 4) and batch["erased"].dtype == torch.bool
    reference = default_collate([plain[0], plain[1]])["clips"]
    same = (batch["clips"] == reference).flatten(2).all(dim=2)
    assert torch.equal(same, ~batch["erased"])


def test_config_section_and_its_shorthand():
    assert InputConfig().random_erasing == RandomErasingConfig(p=0.0, per_frame=False)
    assert from_dict(InputConfig, {"random_erasing": 0.5}).random_erasing.p == 0.5
    cfg = from_dict(InputConfig, {"random_erasing": {"p": 0.5, "per_frame": True,
                                                     "scale": [0.02, 0.4]}})
    assert cfg.random_erasing.per_frame and cfg.random_erasing.scale == (0.02, 0.4)
    with pytest.raises(ConfigError, match=r"here: random_erasing\.size: unknown key; known: p,"):
        from_dict(InputConfig, {"random_erasing": {"size": 1}}, "here")
    with pytest.raises(ConfigError, match=r"random_erasing\.p: Input should be less than"):
        from_dict(InputConfig, {"random_erasing": 2})
