"""The frozen-frame memo: misses only are computed, padded; bounded; exact; shared by weights."""

import pytest
import torch

from vreid.models import build_model
from vreid.models.frame_memo import FRAME_MEMO, FrameMemo

PARSER = {"backbone": "resnet", "depth": 18, "aspp_rates": [1, 2], "aspp_channels": 8}


@pytest.fixture
def memo_on():
    FRAME_MEMO.clear()
    FRAME_MEMO.configure(64)
    yield FRAME_MEMO
    FRAME_MEMO.configure(0)
    FRAME_MEMO.clear()


def doubled(calls):
    def compute(x):
        calls.append(len(x))
        return (x * 2, x.sum(dim=1))
    return compute


def test_only_misses_are_computed_padded_to_the_chunk():
    memo, calls = FrameMemo(max_mb=1, chunk=4), []
    x = torch.arange(30.0).view(6, 5)
    a, b = memo(b"w", x[:3], doubled(calls))
    assert calls == [4]  # 3 misses padded to one chunk of 4
    assert torch.equal(a, x[:3] * 2) and torch.equal(b, x[:3].sum(dim=1))
    a, _ = memo(b"w", x[[0, 4, 4, 1]], doubled(calls))
    assert calls == [4, 4]  # one new frame (seen twice in the batch)
    assert torch.equal(a, x[[0, 4, 4, 1]] * 2)
    assert memo.stats()["misses"] == 4 and memo.stats()["hits"] == 3  # 0, 1 and the repeat
    memo(b"other weights", x[:1], doubled(calls))
    assert calls[-1] == 4 and len(memo) == 5  # the owner is part of the key


def test_bounded_least_recently_used_and_off_when_zero():
    row = torch.zeros(256)  # 1 KiB a frame (float32)
    memo = FrameMemo(max_mb=1, chunk=1)
    frames = torch.stack([row + i for i in range(1100)])
    memo(b"w", frames[:1024], lambda x: (x,))
    assert len(memo) == 1024
    memo(b"w", frames[1024:1100], lambda x: (x,))
    assert len(memo) == 1024 and memo.stats()["bytes"] <= 2**20
    calls = []
    memo(b"w", frames[:1], doubled(calls))  # the oldest went first
    assert calls == [1]
    memo.configure(0)
    assert len(memo) == 0 and not memo.enabled
    with pytest.raises(ValueError, match=">= 0"):
        memo.configure(-1)


def test_video_model_with_the_memo_gives_the_same_embeddings(memo_on):
    torch.manual_seed(0)
    model = build_model("egoreid", num_classes=3, parser=PARSER, channels=8).eval()
    clips = torch.randn(4, 4, 3, 32, 16)
    FRAME_MEMO.configure(0)
    plain = model(clips)
    FRAME_MEMO.configure(64)
    first = model(clips)
    assert FRAME_MEMO.stats()["misses"] == 2 * 16  # maps and masks of 16 frames
    again = model(clips)
    assert FRAME_MEMO.stats()["hits"] == 2 * 16
    torch.testing.assert_close(first, plain, rtol=1e-5, atol=1e-6)
    assert torch.equal(again, first)


def test_models_on_the_same_weights_share_and_new_weights_miss(memo_on):
    torch.manual_seed(0)
    a = build_model("egoreid", num_classes=3, parser=PARSER, channels=8).eval()
    b = build_model("egoreid", num_classes=3, parser=PARSER, channels=8, regions=["ub"]).eval()
    b.frames.load_state_dict(a.frames.state_dict())
    clips = torch.randn(2, 4, 3, 32, 16)
    a(clips)
    b(clips)
    assert FRAME_MEMO.stats()["misses"] == 2 * 8 and FRAME_MEMO.stats()["hits"] == 2 * 8
    with torch.no_grad():  # an in-place change of the frozen weights is a new owner
        next(b.frames.extractor.parameters()).add_(1.0)
    out = b(clips)
    assert FRAME_MEMO.stats()["misses"] == 2 * 8 + 8  # new maps; the parser's masks hit
    FRAME_MEMO.configure(0)
    torch.testing.assert_close(out, b(clips), rtol=1e-5, atol=1e-6)


def test_training_through_the_memo_matches_training_without(memo_on):
    def train(memo_mb):
        FRAME_MEMO.configure(memo_mb)
        torch.manual_seed(0)
        model = build_model("egoreid", num_classes=3, parser=PARSER, channels=8).train()
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
        clips, labels = torch.randn(4, 4, 3, 32, 16), torch.tensor([0, 1, 2, 0])
        losses = []
        for _ in range(3):
            logits = model(clips)["region_logits"]
            loss = sum(torch.nn.functional.cross_entropy(r, labels) for r in logits)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    plain = train(0)
    memo = train(64)
    assert FRAME_MEMO.stats()["hits"] == 2 * 2 * 16  # epochs 2 and 3: maps and masks
    assert memo == pytest.approx(plain, rel=1e-5)


def test_frame_model_memoises_the_parser_only_and_still_trains_its_extractor(memo_on):
    torch.manual_seed(0)
    model = build_model("egoreid_frame", num_classes=3, parser=PARSER).train()
    clips = torch.randn(2, 1, 3, 32, 16)
    FRAME_MEMO.configure(0)
    plain = model(clips)["logits"]
    FRAME_MEMO.configure(64)
    out = model(clips)
    out["logits"].sum().backward()
    assert len(FRAME_MEMO) == 2  # two frames' masks, no maps: the extractor trains
    assert all(p.grad is not None for p in model.frames.extractor.parameters())
    assert all(p.grad is None for p in model.frames.parser.parameters())
    torch.testing.assert_close(out["logits"], plain, rtol=1e-5, atol=1e-6)
