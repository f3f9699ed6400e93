"""K-means initialisation of a VLAD layer's centres from training descriptors (paper 003
sec. III-C, step 1 of its two-step training: "initialize and fix the PersonVLAD cluster
centers"; as NetVLAD, Arandjelovic et al., initialises its centres by k-means).

A clustered aggregator is any module with `num_clusters`, `descriptors(maps) -> [B, D, N]`
(the local descriptors it aggregates) and `set_centres(centres [K, D])` (for
`vreid.models.netvlad.NetVLAD`: c_k and the assignment w_k = 2 alpha c_k, z_k = -alpha
||c_k||^2 of eq. 5). The hook runs the model over training batches, captures each such
module's descriptors, clusters them with scipy's k-means++ / Lloyd (`kmeans2`, seeded)
and sets the centres: only when training starts afresh, never on a resumed run (the
checkpoint holds the centres).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.cluster.vq import kmeans2
from torch import nn

from .hooks import Hook

if TYPE_CHECKING:
    from .trainer import Trainer


def kmeans_centres(descriptors: np.ndarray, k: int, seed: int, iterations: int) -> np.ndarray:
    """[k, D] k-means centres of descriptors [n, D] (float64; k-means++ seeding from
    `seed`, then `iterations` Lloyd iterations): the same input and seed give the same
    centres."""
    x = np.asarray(descriptors, dtype=np.float64)
    if x.ndim != 2 or len(np.unique(x, axis=0)) < k:
        raise ValueError(f"train.kmeans_init: k-means of {k} centres needs at least {k} "
                         f"distinct descriptors, got {len(x)} of shape {list(x.shape)}")
    centres, _ = kmeans2(x, k, iter=iterations, minit="++", rng=np.random.default_rng(seed))
    return centres


def clustered_aggregators(model: nn.Module) -> dict[str, nn.Module]:
    """The model's modules that take k-means centres (see the module doc), by name."""
    return {name: m for name, m in model.named_modules()
            if all(hasattr(m, a) for a in ("num_clusters", "descriptors", "set_centres"))}


class KMeansInitHook(Hook):
    """At the start of a fresh run (`trainer.start_epoch == 0`), k-means centres from the
    descriptors of `batches` training batches (0: one epoch's), for every clustered
    aggregator of the model. The model runs in training mode (batch-norm on batch
    statistics, as it trains) without gradients; its buffers are restored afterwards and
    the batches are drawn as epoch 0's (the trainer reseeds epoch 0 afterwards), so the
    training run itself is unchanged by the pass. Run after `CheckpointHook`."""

    def __init__(self, batches: int = 0, iterations: int = 20, seed: int = 0) -> None:
        self.batches, self.iterations, self.seed = batches, iterations, seed
        self.ran = False

    def on_train_start(self, trainer: "Trainer") -> None:
        if trainer.start_epoch > 0:  # resumed: the checkpoint's centres stay
            return
        model = trainer.model
        targets = clustered_aggregators(model)
        if not targets:
            raise ValueError(f"train.kmeans_init: {type(model).__name__} has no clustered "
                             "aggregator (a NetVLAD layer) whose centres k-means could set")
        captured: dict[str, list[torch.Tensor]] = {name: [] for name in targets}

        def capture(name: str):
            def pre_hook(module: nn.Module, args: tuple) -> None:
                x = module.descriptors(args[0])  # [B, D, N]
                captured[name].append(x.detach().transpose(1, 2).reshape(-1, x.shape[1]).cpu())
            return pre_hook

        handles = [m.register_forward_pre_hook(capture(n)) for n, m in targets.items()]
        buffers = {name: b.clone() for name, b in model.named_buffers()}
        was_training = model.training
        limit = self.batches or len(trainer.loader)
        try:
            trainer.set_epoch(0)
            model.train()
            with torch.no_grad():
                for i, batch in enumerate(trainer.loader):
                    if i >= limit:
                        break
                    model(trainer.to_device(batch)[trainer.input_key])
        finally:
            for handle in handles:
                handle.remove()
            with torch.no_grad():  # e.g. batch-norm running statistics
                for name, b in model.named_buffers():
                    b.copy_(buffers[name])
            model.train(was_training)
        for name, module in targets.items():
            descriptors = torch.cat(captured[name]).double().numpy()
            centres = kmeans_centres(descriptors, module.num_clusters, self.seed,
                                     self.iterations)
            module.set_centres(torch.from_numpy(centres).float())
        self.ran = True
