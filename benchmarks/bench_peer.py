"""Side by side with the established video re-ID library (torchreid) on the same data.

    python benchmarks/bench_peer.py                  # both sides when torchreid imports
    python benchmarks/bench_peer.py --quick          # 2 epochs, a smoke run
    python benchmarks/bench_peer.py --ours-only      # our side alone

The library is not a dependency of vreid: install it yourself (`pip install torchreid`
from its source, or the renamed PyPI build `pyppbox-torchreid`); without it this script
prints our side alone. Both sides train the same run on our embedded MARS-layout set
(`data/synthetic/mars`, written by `vreid prepare`): ResNet-18 without pretraining,
HxW 64x32, clips of 4 frames, batches of 16 clips, Adam at a constant lr 1e-3, label
smoothing 0.1, the softmax (cross-entropy) loss only, random flips, N CPU threads. Ours is
`resnet_tap` (temporal average pooling + BNNeck); the library's is its `resnet18` under
`VideoSoftmaxEngine` (every frame of a clip is classified on its own, features averaged
over frames at test time).

Training clips: `--train-sampling evenly_fixed` (default) is the library's default, the same
4 evenly spaced frames of a tracklet at every epoch; `random` draws 4 random frames each
time, on both sides.

Printed per side: training accuracy per epoch (the library's over frames, ours over
clips), rank-1 / mAP on the two
test protocols (the library's default: each tracklet scored on 4 evenly spaced frames;
ours: all frames), each library with its own evaluator, training clips/s and wall time.
`--json PATH` writes the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import io
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _embedded import parse_args  # noqa: E402  (benchmarks/ is not a package)


# our training clip mode -> the library's sample_method for training
PEER_SAMPLING = {"evenly_fixed": "evenly", "random": "random"}


def find_peer():
    """The library's module (`torchreid`, or its renamed PyPI build), or None."""
    for name in ("torchreid", "pyppbox_torchreid"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "engine") and hasattr(module, "data"):
            return module
    return None


def ours(args) -> dict:
    from vreid.config import from_dict, load_params, StageConfig
    from vreid.engine.hooks import NullLogger
    from vreid.pipeline.evaluate import score_model
    from vreid.pipeline.common import read_configured
    from vreid.pipeline.train import train_reid

    class History(NullLogger):
        def __init__(self):
            self.accuracy: list[float] = []

        def log_metrics(self, metrics, step=None):
            if "train/accuracy" in metrics:
                self.accuracy.append(100.0 * float(metrics["train/accuracy"]))

    kwargs = {"depth": 18, "last_stride": args.last_stride}
    stage = {
        "data": "video",
        "model": {"name": "resnet_tap", "kwargs": kwargs},
        # --pad 0: flips only, as the library's transforms='random_flip' (our default
        # input.pad 4 also pads and crops)
        "input": {"height": args.height, "width": args.width, "clip_len": args.seq_len,
                  "train_sampling": args.train_sampling, "pad": args.pad, "flip": 0.5},
        "train": {"epochs": args.epochs, "lr": args.lr, "optimizer": "adam",
                  "warmup_epochs": 0, "milestones": [], "seed": args.seed,
                  "sampler": "auto", "ids_per_batch": args.batch, "instances_per_id": 1,
                  "losses": [{"name": "cross_entropy", "weight": 1.0,
                              "kwargs": {"label_smoothing": 0.1}}]},
    }
    params = load_params(args.params)
    params = dataclasses.replace(params, runtime=dataclasses.replace(
        params.runtime, threads=args.threads, device="cpu"))
    dataset = dataclasses.replace(params.data.video, root=str(Path(args.root) / "mars"))
    cfg = from_dict(StageConfig, stage, "bench_peer")
    history = History()
    out_dir = Path(args.work) / "ours"
    started = time.perf_counter()
    out = train_reid(cfg, dataset, params.runtime, out_dir=out_dir,
                     checkpoint_dir=out_dir / "checkpoints", logger=history, resume=False)
    train_s = time.perf_counter() - started
    index = read_configured(dataset)
    scores = {}
    for protocol in (f"evenly:{args.seq_len}", "all"):
        p = dataclasses.replace(params, eval=dataclasses.replace(params.eval, frames=protocol))
        metrics, _, _ = score_model(p, out.model_path, index, torch.device("cpu"))
        scores[protocol] = {"rank1": 100.0 * metrics["rank1"], "mAP": 100.0 * metrics["mAP"]}
    return {"accuracy": history.accuracy, "scores": scores, "train_s": train_s,
            "clips_per_s": out.timing["clips_per_s"]}


def peer(lib, args) -> dict:
    def manager(sample_method: str, batch_test: int):
        return lib.data.VideoDataManager(
            root=args.root, sources="mars", height=args.height, width=args.width,
            transforms="random_flip", use_gpu=False, batch_size_train=args.batch,
            batch_size_test=batch_test, workers=0, seq_len=args.seq_len,
            sample_method=sample_method, train_sampler="RandomSampler")

    quiet = contextlib.redirect_stdout(io.StringIO())
    lib.utils.set_random_seed(args.seed)
    with quiet:
        dm = manager(PEER_SAMPLING[args.train_sampling], args.batch)  # also its test loaders
    # resnet18 through the factory; the renamed PyPI build leaves it out of the factory
    # (its module still has it)
    if "resnet18" in getattr(lib.models, "__model_factory", {"resnet18": None}):
        model = lib.models.build_model(name="resnet18", num_classes=dm.num_train_pids,
                                       loss="softmax", pretrained=False, use_gpu=False)
    else:
        model = lib.models.resnet.resnet18(dm.num_train_pids, loss="softmax", pretrained=False)
    optimizer = lib.optim.build_optimizer(model, optim="adam", lr=args.lr)
    engine = lib.engine.VideoSoftmaxEngine(dm, model, optimizer, scheduler=None,
                                           use_gpu=False, label_smooth=True)
    seen = {"correct": 0.0, "frames": 0, "clips": 0}
    step = engine.forward_backward

    def counted(data):
        summary = step(data)
        n = data["img"].shape[0] * data["img"].shape[1]
        seen["correct"] += summary["acc"] * n / 100.0
        seen["frames"] += n
        seen["clips"] += data["img"].shape[0]
        return summary

    engine.forward_backward = counted
    engine.max_epoch = args.epochs
    accuracy, loop_s = [], 0.0
    for epoch in range(args.epochs):
        engine.epoch = epoch
        seen.update(correct=0.0, frames=0)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            engine.train(print_freq=10 ** 9)
        loop_s += time.perf_counter() - started
        accuracy.append(100.0 * seen["correct"] / seen["frames"])
    scores = {}
    for protocol, method, batch_test in ((f"evenly:{args.seq_len}", "evenly", args.batch),
                                         ("all", "all", 1)):
        with contextlib.redirect_stdout(io.StringIO()):
            dm_test = manager(method, batch_test)
            loaders = dm_test.test_loader["mars"]
            rank1, mAP = engine._evaluate(dataset_name="mars", query_loader=loaders["query"],
                                          gallery_loader=loaders["gallery"], ranks=[1])
        scores[protocol] = {"rank1": 100.0 * float(rank1), "mAP": 100.0 * float(mAP)}
    return {"accuracy": accuracy, "scores": scores, "train_s": loop_s,
            "clips_per_s": seen["clips"] / loop_s, "library": f"{lib.__name__} {lib.__version__}"}


def table(results: dict[str, dict], seq_len: int) -> str:
    sides = list(results)
    epochs = max(len(r["accuracy"]) for r in results.values())
    lines = ["| | " + " | ".join(sides) + " |", "|---" * (len(sides) + 1) + "|"]
    for e in range(epochs):
        cells = [f"{r['accuracy'][e]:.1f}" if e < len(r["accuracy"]) else "" for r in results.values()]
        lines.append(f"| training accuracy, epoch {e + 1} (%) | " + " | ".join(cells) + " |")
    for protocol in (f"evenly:{seq_len}", "all"):
        cells = [f"{r['scores'][protocol]['rank1']:.1f} / {r['scores'][protocol]['mAP']:.1f}"
                 for r in results.values()]
        lines.append(f"| rank-1 / mAP, frames {protocol} | " + " | ".join(cells) + " |")
    lines.append("| training clips/s | " + " | ".join(
        f"{r['clips_per_s']:.1f}" for r in results.values()) + " |")
    lines.append("| training loop, s | " + " | ".join(
        f"{r['train_s']:.0f}" for r in results.values()) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default="data/synthetic", help="folder holding mars/")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--work", default="benchmarks/.peer", help="scratch folder")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16, help="clips per batch")
    parser.add_argument("--seq-len", type=int, default=4)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--last-stride", type=int, default=1, help="ours (the library's is 2)")
    parser.add_argument("--train-sampling", choices=sorted(PEER_SAMPLING),
                        default="evenly_fixed",
                        help="training clips: evenly_fixed = the same 4 evenly spaced frames "
                             "every epoch (the library's default 'evenly'), random = 4 random "
                             "frames per draw")
    parser.add_argument("--pad", type=int, default=0,
                        help="ours: pad-and-crop pixels (0: flips only, as the library)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ours-only", action="store_true")
    parser.add_argument("--peer-only", action="store_true")
    args = parse_args(parser, argv)
    if args is None:
        return 2
    torch.set_num_threads(args.threads)
    results: dict[str, dict] = {}
    lib = None if args.ours_only else find_peer()
    if lib is None and not args.ours_only:
        print("torchreid is not installed: printing our side alone", file=sys.stderr)
    if not args.peer_only:
        results["vreid resnet_tap"] = ours(args)
    if lib is not None:
        results[f"{lib.__name__} resnet18"] = peer(lib, args)
    print(table(results, args.seq_len))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
