"""Paper 002's clip corruption: the degradation changes frames, exactly the drawn M_c clips
change (counted in the model's clips), the test draw is fixed per tracklet, off = identical."""

import numpy as np
import pytest
import torch
from PIL import Image

from vreid.data.clip_dataset import TrackletFrames, TrainClips
from vreid.data.corruption import ClipCorruption, tracklet_generator
from vreid.data.index import Tracklet
from vreid.data import sampling
from vreid.data.transforms import build_transform


def noisy_frames(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 40, 20), generator=g, dtype=torch.uint8)


def changed_clips(before: torch.Tensor, after: torch.Tensor, clip_len: int) -> list[int]:
    return [c for c, picks in enumerate(sampling.test_clips(len(before), clip_len))
            if not torch.equal(before[picks], after[picks])]


@pytest.fixture(scope="module")
def tracklets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    out = []
    for k, n in enumerate([9, 12, 7, 10]):
        paths = []
        for i in range(n):
            path = folder / f"t{k}_{i}.png"
            Image.fromarray(rng.integers(0, 256, (40, 20, 3), dtype=np.uint8)).save(path)
            paths.append(str(path))
        out.append(Tracklet(tuple(paths), pid=k, camid=k % 2))
    return out


def test_degrade_downscales_jpegs_and_upscales_to_the_frames_own_size():
    frames = noisy_frames(3)
    out = ClipCorruption(1, 3, factor=5, jpeg_quality=75).degrade(frames)
    assert out.shape == frames.shape and out.dtype == torch.uint8
    # noise does not survive an 8x4 thumbnail: the frames are smooth, far from the originals
    assert (out.float() - frames.float()).abs().mean() > 30
    assert out.float().diff(dim=-1).abs().mean() < frames.float().diff(dim=-1).abs().mean() / 3
    # a harder JPEG loses more than an easy one
    easy = ClipCorruption(1, 3, factor=1, jpeg_quality=95).degrade(frames)
    hard = ClipCorruption(1, 3, factor=1, jpeg_quality=5).degrade(frames)
    assert (easy.float() - frames.float()).abs().mean() < (hard.float() - frames.float()).abs().mean()


def test_exactly_the_drawn_clips_change_and_a_padded_last_clip_counts_once():
    frames = noisy_frames(10)  # clips of 4: [0-3], [4-7], [8, 9, 9, 9]
    corruption = ClipCorruption(max_clips=3, clip_len=4)
    counts = set()
    for seed in range(40):
        out, chosen = corruption(frames, torch.Generator().manual_seed(seed))
        assert changed_clips(frames, out, 4) == chosen
        assert len(chosen) <= 3
        counts.add(len(chosen))
    assert counts == {0, 1, 2, 3}  # M_c uniform over 0..min(max_clips, M)
    # M_c never exceeds the sequence's clips
    few = ClipCorruption(max_clips=7, clip_len=4)
    assert max(len(few(frames, torch.Generator().manual_seed(s))[1]) for s in range(40)) == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"max_clips": -1, "clip_len": 4}, "max_clips >= 0"),
    ({"max_clips": 1, "clip_len": 4, "jpeg_quality": 101}, "jpeg_quality must be in 1..100"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClipCorruption(**kwargs)
    with pytest.raises(ValueError, match="expects uint8 frames"):
        ClipCorruption(1, 4).degrade(torch.zeros(2, 3, 8, 4))


def test_test_frames_are_corrupted_the_same_per_tracklet_whatever_the_order(tracklets):
    transform = build_transform(40, 20, train=False)
    corruption = ClipCorruption(max_clips=3, clip_len=4, seed=5)
    clean = TrackletFrames(tracklets, transform)
    a = TrackletFrames(tracklets, transform, corruption=corruption)
    b = TrackletFrames(tracklets[::-1], transform, corruption=corruption)  # another order
    n = len(tracklets)
    drawn = []
    for i, t in enumerate(tracklets):
        assert torch.equal(a[i], b[n - 1 - i])  # the same tracklet, the same corruption
        _, chosen = corruption(torch.zeros(len(t.frames), 3, 40, 20, dtype=torch.uint8),
                               tracklet_generator(5, t))
        assert changed_clips(clean[i], a[i], 4) == chosen
        drawn.append(chosen)
    assert any(drawn)  # some clips of some tracklet were corrupted
    # another corruption seed draws otherwise
    other = TrackletFrames(tracklets, transform, corruption=ClipCorruption(3, 4, seed=6))
    assert any(not torch.equal(a[i], other[i]) for i in range(n))


def test_off_leaves_test_and_training_frames_and_the_clip_stream_identical(tracklets):
    transform = build_transform(40, 20, train=False)
    off = TrackletFrames(tracklets, transform, corruption=None)
    plain = TrackletFrames(tracklets, transform)
    assert all(torch.equal(off[i], plain[i]) for i in range(len(tracklets)))
    train = [TrainClips(tracklets, 8, "random", transform, seed=1, corruption=c)
             for c in (None, ClipCorruption(max_clips=2, clip_len=4))]
    counts = set()
    for epoch in range(8):
        for ds in train:
            ds.set_epoch(epoch)  # the same frames sampled for both, then the corruption draw
        clean, corrupted = train[0][1]["clips"], train[1][1]["clips"]
        assert clean.shape == corrupted.shape == (8, 3, 40, 20)
        # M_c of the sample's two clips of the model's 4 frames changed
        counts.add(len(changed_clips(clean, corrupted, 4)))
    assert counts <= {0, 1, 2} and counts - {0}
