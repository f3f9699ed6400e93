"""The frozen-frame memo (`runtime.frame_memo_mb`, vreid.models.frame_memo): EgoReID's video
stage trained and scored without it, with it cold, and with it warm (a second entry on
the same frozen trunk, as the leaderboard's ablation entries are).

    python benchmarks/bench_frame_memo.py              # params.yaml's train_video, 10 epochs
    python benchmarks/bench_frame_memo.py --quick      # 2 epochs

The stage is params.yaml's `train_video` with random weights (speed does not depend on
them, and the chain need not have run): its frozen parser and extractor are drawn once
(seed 0) and saved under `--work`, and every run loads them, as every leaderboard entry
loads the chain's; flips are the only augmentation (`input.pad: 0`; pad-and-crop makes every draw a new frame). Data: the
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _embedded import parse_args  # noqa: E402  (benchmarks/ is not a package)


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


def frozen_parts(kwargs: dict, folder: Path) -> dict[str, str]:
    """A random parser and frame extractor (seed 0) as model files, for the stage's
    `parser_checkpoint` / `extractor_checkpoint`: every run freezes the same weights."""
    from vreid.config import InputConfig, ModelConfig
    from vreid.models import build_model
    from vreid.pipeline.common import save_model

    folder.mkdir(parents=True, exist_ok=True)
    parser_kwargs = dict(kwargs.get("parser") or {})
    frame_kwargs = {k: kwargs[k] for k in ("backbone", "parser", "parser_size") if k in kwargs}
    torch.manual_seed(0)
    parser = build_model("parsing_net", num_classes=20, **parser_kwargs)
    frame = build_model("egoreid_frame", num_classes=2, **frame_kwargs)
    paths = {"parser_checkpoint": folder / "parser.pt", "extractor_checkpoint": folder / "frame.pt"}
    save_model(paths["parser_checkpoint"], parser, ModelConfig("parsing_net", parser_kwargs), 20,
               InputConfig())
    save_model(paths["extractor_checkpoint"], frame, ModelConfig("egoreid_frame", frame_kwargs), 2,
               InputConfig(clip_len=1))
    return {k: str(v) for k, v in paths.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default="data/synthetic", help="folder holding mars/")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--stage", default="train_video")
    parser.add_argument("--work", default="benchmarks/.frame_memo", help="scratch folder")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--memo-mb", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    args = parse_args(parser, argv)
    if args is None:
        return 2
    from vreid.config import load_params
    from vreid.pipeline.stages import resolve_stage

    params = load_params(args.params)
    params = dataclasses.replace(params, runtime=dataclasses.replace(
        params.runtime, threads=args.threads, device="cpu"))
    stage = resolve_stage(params, args.stage).config
    work = Path(args.work)
    model = dataclasses.replace(stage.model, kwargs={
        **stage.model.kwargs, **frozen_parts(stage.model.kwargs, work / "frozen")})
    stage = dataclasses.replace(stage, model=model,
                                input=dataclasses.replace(stage.input, pad=0),
                                train=dataclasses.replace(stage.train, epochs=args.epochs))
    dataset = dataclasses.replace(params.data.video, root=str(Path(args.root) / "mars"))
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
