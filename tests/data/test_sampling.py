from collections import Counter

import pytest
import torch

from vreid.data.sampling import (IdentitySampler, ShuffleSampler, sample_clip,
                                 test_clips as make_test_clips)


@pytest.mark.parametrize("mode", ["random", "consecutive", "evenly", "evenly_fixed"])
def test_clip_is_sorted_in_range(mode):
    g = torch.Generator().manual_seed(0)
    for n in (4, 5, 17):
        picks = sample_clip(n, 4, mode, g)
        assert len(picks) == 4 and picks == sorted(picks) and 0 <= picks[0] and picks[-1] < n


def test_consecutive_is_a_run_and_evenly_spans_chunks():
    g = torch.Generator().manual_seed(1)
    c = sample_clip(20, 4, "consecutive", g)
    assert c == list(range(c[0], c[0] + 4))
    e = sample_clip(20, 4, "evenly", g)
    assert [i // 5 for i in e] == [0, 1, 2, 3]


def test_evenly_fixed_gives_the_test_protocols_frames_at_every_draw():
    g = torch.Generator().manual_seed(2)
    draws = {tuple(sample_clip(20, 4, "evenly_fixed", g)) for _ in range(5)}
    assert draws == {(0, 5, 10, 15)}
    assert len({tuple(sample_clip(20, 4, "evenly", g)) for _ in range(20)}) > 1


def test_short_tracklet_repeats_last_frame_and_bad_mode():
    g = torch.Generator().manual_seed(0)
    assert sample_clip(2, 4, "random", g) == [0, 1, 1, 1]
    with pytest.raises(ValueError, match="mode"):
        sample_clip(8, 4, "strided", g)
    with pytest.raises(ValueError, match="empty"):
        sample_clip(0, 4, "random", g)


def test_test_clips_cover_every_frame_once_plus_padding():
    clips = make_test_clips(10, 4)
    assert clips == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 9, 9]]


def test_pk_batches():
    labels = [i // 3 for i in range(30)]  # 10 ids x 3 items
    s = IdentitySampler(labels, ids_per_batch=4, instances_per_id=4, seed=0)
    items = list(s)
    assert len(items) == len(s) == 2 * 16
    for b in range(2):
        batch = items[b * 16:(b + 1) * 16]
        counts = Counter(labels[i] for i in batch)
        assert len(counts) == 4 and set(counts.values()) == {4}


def test_pk_epochs_differ_and_are_reproducible():
    labels = [i // 2 for i in range(40)]
    s = IdentitySampler(labels, 4, 2, seed=3)
    s.set_epoch(0); a = list(s)
    s.set_epoch(1); b = list(s)
    s.set_epoch(0); c = list(s)
    assert a == c and a != b


def test_pk_needs_enough_identities():
    with pytest.raises(ValueError, match="needs >= 4 identities"):
        IdentitySampler([0, 0, 1, 1], 4, 2)


def test_shuffle_batches_cover_items_and_are_epoch_reproducible():
    s = ShuffleSampler(10, batch_size=4, seed=3)
    assert len(s) == 8  # 10 // 4 batches of 4
    s.set_epoch(0)
    first = list(s)
    assert len(set(first)) == 8 and all(0 <= i < 10 for i in first)
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) != first
    long = ShuffleSampler(3, batch_size=2, num_batches=4)
    assert sorted(list(long)[:3]) == [0, 1, 2]  # every item once before any repeats
    with pytest.raises(ValueError, match="needs >= 4"):
        ShuffleSampler(3, batch_size=4)
