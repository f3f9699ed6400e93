import torch
from torch import nn

from vreid.engine import extract_clip_sets, extract_features


class MeanFrame(nn.Module):
    """Embedding = the mean pixel of each clip, so expected features are computable."""

    def forward(self, clips):
        return clips.mean(dim=(1, 2, 3, 4)).unsqueeze(1)


def test_clip_average_per_tracklet_across_batches():
    tracklets = [torch.full((n, 1, 2, 2), float(i)) for i, n in enumerate([5, 1, 9])]
    tracklets[2][8] = 100.0  # the last, padded clip is [8, 8, 8, 8] -> 100
    feats = extract_features(MeanFrame(), tracklets, clip_len=4, batch_size=2)
    assert feats.shape == (3, 1)
    assert feats[0].item() == 0.0 and feats[1].item() == 1.0
    assert torch.isclose(feats[2], torch.tensor([(2 + 2 + 100) / 3]))


def test_clip_sets_keep_each_clip_in_order_across_batches():
    tracklets = [torch.full((n, 1, 2, 2), float(i)) for i, n in enumerate([5, 1, 9])]
    tracklets[2][8] = 100.0
    sets = extract_clip_sets(MeanFrame(), tracklets, clip_len=4, batch_size=2)
    assert [s.shape for s in sets] == [(2, 1), (1, 1), (3, 1)]
    assert sets[2].flatten().tolist() == [2.0, 2.0, 100.0]
    means = extract_features(MeanFrame(), tracklets, clip_len=4, batch_size=2)
    assert torch.allclose(torch.stack([s.mean(0) for s in sets]), means)
