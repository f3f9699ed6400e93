"""The frozen-frame memo (`runtime.frame_memo_mb`, vreid.models.frame_memo): EgoReID's video
stage trained and scored without it, with it cold, and with it warm (a second entry on
the same frozen trunk, as the leaderboard's ablation entries are).

    python benchmarks/bench_frame_memo.py              # params.yaml's train_video, 10 epochs
    python benchmarks/bench_frame_memo.py --quick      # 2 epochs

The stage is params.yaml's `train_video` with random initial weights (no `init_from`:
speed does not depend on the weights, and the chain need not have run) and flips as the
only augmentation (`input.pad: 0`; pad-and-crop makes every draw a new frame). Data: the
embedded MARS layout under `--root` (`vreid prepare` writes it). Printed: training and
scoring seconds of each run, the ratios to the run without the memo, the memo's hits and
misses, and whether the cold run's metrics equal the run without it (same seed).
`--json PATH` writes the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch


def run(params, stage, dataset, work: Path, seed: int, memo_mb: int) -> dict:
    from vreid.engine.hooks import NullLogger
    from vreid.models.frame_memo import FRAME_MEMO
    from vreid.pipeline.common import read_configured
    from vreid.pipeline.evaluate import score_model
    from vreid.pipeline.train import train_reid

    runtime = dataclasses.replace(params.runtime, frame_memo_mb=memo_mb)
    stage = dataclasses.replace(stage, train=dataclasses.replace(stage.train, seed=seed))
    out_dir = work / f"seed{seed}_memo{memo_mb}"
    before = FRAME_MEMO.stats()
    started = time.perf_counter()
    out = train_reid(stage, dataset, runtime, out_dir=out_dir, checkpoint_dir=out_dir / "ckpt",
                     logger=NullLogger(), resume=False)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    metrics, _, _ = score_model(params, out.model_path, read_configured(dataset),
                                torch.device("cpu"))
    score_s = time.perf_counter() - started
    after = FRAME_MEMO.stats()
    return {"seed": seed, "memo_mb": memo_mb, "train_s": train_s, "score_s": score_s,
            "rank1": 100.0 * metrics["rank1"], "mAP": 100.0 * metrics["mAP"],
            "hits": after["hits"] - before["hits"], "misses": after["misses"] - before["misses"],
            "memo_mib": after["bytes"] / 2**20}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default="data/synthetic", help="folder holding mars/")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--stage", default="train_video")
    parser.add_argument("--work", default="benchmarks/.frame_memo", help="scratch folder")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--memo-mb", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 epochs")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 2
    if not (Path(args.root) / "mars").is_dir():
        print(f"{args.root}/mars not found: run `vreid prepare` (or `make run`) first",
              file=sys.stderr)
        return 2
    from vreid.config import load_params
    from vreid.pipeline.stages import resolve_stage

    params = load_params(args.params)
    params = dataclasses.replace(params, runtime=dataclasses.replace(
        params.runtime, threads=args.threads, device="cpu"))
    stage = resolve_stage(params, args.stage).config
    model = dataclasses.replace(stage.model, kwargs={
        k: v for k, v in stage.model.kwargs.items() if not k.endswith("_checkpoint")})
    stage = dataclasses.replace(stage, model=model,
                                input=dataclasses.replace(stage.input, pad=0),
                                train=dataclasses.replace(stage.train, epochs=args.epochs))
    dataset = dataclasses.replace(params.data.video, root=str(Path(args.root) / "mars"))
    work = Path(args.work)
    runs = {"without the memo": run(params, stage, dataset, work, 0, 0),
            "memo, cold (same seed)": run(params, stage, dataset, work, 0, args.memo_mb),
            "memo, warm (seed 1)": run(params, stage, dataset, work, 1, args.memo_mb)}
    base = runs["without the memo"]
    print(f"{args.stage}, {args.epochs} epochs, {args.threads} threads, embedded MARS at {args.root}")
    print(f"{'run':24} {'train s':>8} {'x':>6} {'score s':>8} {'x':>6} {'hits':>8} "
          f"{'misses':>8} {'MiB':>7} {'rank-1':>7} {'mAP':>6}")
    for name, r in runs.items():
        print(f"{name:24} {r['train_s']:8.1f} {base['train_s'] / r['train_s']:6.2f} "
              f"{r['score_s']:8.1f} {base['score_s'] / r['score_s']:6.2f} {r['hits']:8d} "
              f"{r['misses']:8d} {r['memo_mib']:7.0f} {r['rank1']:7.1f} {r['mAP']:6.1f}")
    cold = runs["memo, cold (same seed)"]
    same = cold["rank1"] == base["rank1"] and cold["mAP"] == base["mAP"]
    print(f"cold run's rank-1 / mAP equal to the run without the memo: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": runs,
                                               "same_metrics": same}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
