"""RNN (LSTM) temporal aggregator: the "RNN" of paper 004's comparison (Table 2 / 4,
after Gao & Nevatia, "Revisiting temporal modeling for video-based person ReID").

Each frame's global-average-pooled vector f_t goes through a one-layer LSTM; the LSTM's
outputs are averaged over time (RNN + TP-avg, as in Gao & Nevatia's code, hidden size 512).
"""

from __future__ import annotations

import torch
from torch import nn

from .temporal import TEMPORAL


@TEMPORAL.register("rnn")
class TemporalLSTM(nn.Module):
    """Clip maps [B, C, T, h, w] -> mean over t of LSTM(f_1..f_T)_t, [B, hidden]."""

    def __init__(self, channels: int, hidden: int = 512, num_layers: int = 1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, hidden, num_layers=num_layers, batch_first=True)
        self.out_channels = hidden

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        frames = maps.mean(dim=(3, 4)).transpose(1, 2)  # [B, T, C]: f_t in frame order
        outputs, _ = self.lstm(frames)  # [B, T, hidden]
        return outputs.mean(dim=1)
