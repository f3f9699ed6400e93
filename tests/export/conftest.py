"""A tiny clip model's export graph and its ONNX file, shared by the export tests."""

import pytest
import torch

from vreid.models.inputs import BATCH_DIM, ExportGraph

SMALL_SHAPE = (2, 3, 8, 8)  # T, C, H, W


class ClipMean(torch.nn.Module):
    """Frame conv -> mean over space and time -> linear: exports in a second."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        b, t = clips.shape[:2]
        return self.fc(self.conv(clips.flatten(0, 1)).mean(dim=(2, 3)).view(b, t, -1).mean(1))


def clip_graph(module: torch.nn.Module, export_batch: int = 2) -> ExportGraph:
    return ExportGraph(module.eval(), (torch.randn(export_batch, *SMALL_SHAPE),),
                       {"clips": {0: BATCH_DIM}})


@pytest.fixture(scope="session")
def clip_mean():
    return ClipMean


@pytest.fixture(scope="session")
def small_onnx(tmp_path_factory):
    """(the tiny model's export graph, its ONNX file)."""
    from vreid.export.onnx import export_onnx

    torch.manual_seed(0)
    graph = clip_graph(ClipMean())
    return graph, export_onnx(graph, tmp_path_factory.mktemp("onnx") / "m.onnx")
