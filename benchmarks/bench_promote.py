"""What `vreid promote` costs on the default profile (params.yaml), against `evaluate`.

    python benchmarks/bench_promote.py                 # params.yaml's data and model
    python benchmarks/bench_promote.py --params P.yaml

In a temp dir: writes the configured synthetic sets (`prepare`), saves an untrained model
of the configured `train_video` architecture (timing does not depend on the weights), then
times, in the same run and on the same data:
  1. scoring one model (`score_model`: plain + re-ranked metrics, what `evaluate` does for
     the trained model besides its untrained twin),
  2. `promote` with no champion yet (score + register + log the model file),
  3. `promote` against that champion (two scores + fetch of the champion's file),
on a sqlite MLflow store in the temp dir. Prints seconds and the ratios to (1).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()

    from vreid.config import load_params
    from vreid.models import build_model
    from vreid.pipeline.common import (INIT_ONLY_KWARGS, read_configured, resolve_device,
                                       save_model, set_threads)
    from vreid.pipeline.evaluate import score_model
    from vreid.pipeline.stages import model_stage_config
    from vreid.pipeline.prepare import prepare
    from vreid.tracking.registry import promote

    p = load_params(Path(args.params).resolve())
    work = Path(tempfile.mkdtemp(prefix="vreid-bench-promote-"))
    os.chdir(work)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    p = dataclasses.replace(p, tracking=dataclasses.replace(p.tracking, experiment="bench"))
    t = time.perf_counter()
    prepare(p)
    print(f"prepare: {time.perf_counter() - t:.1f} s (not part of promote)")

    stage = model_stage_config(p)
    index = read_configured(p.data.video)
    kwargs = {k: v for k, v in stage.model.kwargs.items() if k not in INIT_ONLY_KWARGS}
    torch.manual_seed(0)
    model = build_model(stage.model.name, num_classes=index.num_train_pids, **kwargs)
    save_model(work / "model.pt", model, dataclasses.replace(stage.model, kwargs=kwargs),
               index.num_train_pids, stage.input)
    size = (work / "model.pt").stat().st_size / 2**20
    print(f"model: {stage.model.name}, {size:.0f} MiB; {len(index.query)} query / "
          f"{len(index.gallery)} gallery tracklets; threads {torch.get_num_threads()}")

    import mlflow

    mlflow.MlflowClient().search_experiments()  # create the store's tables before timing
    set_threads(p.runtime.threads)
    t = time.perf_counter()
    score_model(p, work / "model.pt", index, resolve_device(p.runtime.device))
    one = time.perf_counter() - t
    print(f"1. score one model:            {one:6.1f} s   1.00x")
    for label in ("2. promote, no champion yet:   ", "3. promote against a champion: "):
        t = time.perf_counter()
        promote(p, work / "model.pt")
        dt = time.perf_counter() - t
        print(f"{label}{dt:6.1f} s   {dt / one:.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
