"""LSTM aggregator: frame GAP vectors -> LSTM -> outputs averaged over time."""

import torch

from vreid.models import TEMPORAL


def test_output_shape_is_hidden_and_matches_the_lstm_by_hand():
    torch.manual_seed(0)
    rnn = TEMPORAL.get("rnn")(8, hidden=6)
    assert rnn.out_channels == 6
    maps = torch.randn(3, 8, 4, 2, 2)  # [B, C, T, h, w]
    out = rnn(maps)
    assert out.shape == (3, 6)
    outputs, _ = rnn.lstm(maps.mean(dim=(3, 4)).transpose(1, 2))
    torch.testing.assert_close(out, outputs.mean(dim=1))
    assert TEMPORAL.get("rnn")(8).out_channels == 512  # Gao & Nevatia's hidden size


def test_output_depends_on_frame_order():
    torch.manual_seed(0)
    rnn = TEMPORAL.get("rnn")(8, hidden=6)
    maps = torch.randn(2, 8, 3, 2, 2)
    reversed_clip = maps.flip(dims=(2,))
    assert not torch.allclose(rnn(maps), rnn(reversed_clip), atol=1e-4)
    avg = TEMPORAL.get("avg")(8)  # order-free, for contrast
    torch.testing.assert_close(avg(maps), avg(reversed_clip))
