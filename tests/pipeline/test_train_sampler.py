"""Which batch sampler a stage trains with (issue 17: softmax-only on PK batches)."""

import dataclasses

import pytest

from vreid.config import LossTerm, TrainConfig
from vreid.data.sampling import IdentitySampler, ShuffleSampler
from vreid.losses import build_losses
from vreid.pipeline.train import batch_sampler

LABELS = [i // 3 for i in range(30)]  # 10 identities x 3 tracklets
SOFTMAX = (LossTerm("cross_entropy", 1.0, {"label_smoothing": 0.1}),)
WITH_TRIPLET = SOFTMAX + (LossTerm("triplet", 1.0, {"margin": 0.3}),)


@pytest.mark.parametrize("sampler, losses, expected", [
    ("auto", SOFTMAX, ShuffleSampler),
    ("auto", WITH_TRIPLET, IdentitySampler),
    ("identity", SOFTMAX, IdentitySampler),
    ("random", WITH_TRIPLET, ShuffleSampler),
])
def test_auto_uses_pk_batches_only_for_a_loss_that_mines_the_batch(sampler, losses, expected):
    t = dataclasses.replace(TrainConfig(), sampler=sampler, losses=losses, ids_per_batch=2,
                            instances_per_id=2)
    chosen = batch_sampler(t, LABELS, build_losses(losses, num_classes=10))
    assert type(chosen) is expected
    assert len(chosen) % 4 == 0


def test_random_batches_mix_identities():
    t = dataclasses.replace(TrainConfig(), losses=SOFTMAX, ids_per_batch=2, instances_per_id=2)
    s = batch_sampler(t, LABELS, build_losses(SOFTMAX, num_classes=10))
    items = list(s)
    batches = [items[i:i + 4] for i in range(0, len(items), 4)]
    # PK batches would hold exactly 2 identities each; uniform batches mostly hold more
    assert max(len({LABELS[i] for i in b}) for b in batches) > 2
