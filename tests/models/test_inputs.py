"""Export-graph inputs resized along their batch axes."""

import torch

from vreid.models.inputs import BATCH_DIM, ExportGraph, batch_shapes, random_inputs

GRAPH = ExportGraph(torch.nn.Identity(), (torch.zeros(2, 3, 5), torch.zeros(4, 2, 2)),
                    {"clips": {0: BATCH_DIM, 1: "frames"}, "other": {}})


def test_batch_shapes_resize_only_the_batch_axes():
    assert batch_shapes(GRAPH, 7) == [(7, 3, 5), (4, 2, 2)]


def test_random_inputs_are_seeded_and_shaped():
    a = random_inputs(GRAPH, 3, torch.Generator().manual_seed(0))
    b = random_inputs(GRAPH, 3, torch.Generator().manual_seed(0))
    assert [x.shape for x in a] == [(3, 3, 5), (4, 2, 2)]
    assert all(torch.equal(x, y) for x, y in zip(a, b)) and a[0].std() > 0
