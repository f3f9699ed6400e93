"""What the `tune` DVC stage adds to `make run`: `vreid tune` with the default params.

Prepares the default synthetic data in a temp dir, writes the chain's upstream models
with the default architectures but zero training epochs (the tune stage's cost does not
depend on their weights), then times `vreid tune` as dvc.yaml runs it (a fresh process:
imports, local Ray start, the trials, shutdown). Prints the wall time of each part.

    .venv/bin/python benchmarks/bench_tune_budget.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="vreid-tune-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "params.yaml", work / "params.yaml")
    os.chdir(work)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RAY_USAGE_STATS_ENABLED": "0",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1",
           "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})

    from vreid.config import load_params
    from vreid.pipeline.prepare import prepare
    from vreid.pipeline.stages import model_file, train_stage, tuned_stage

    p = load_params("params.yaml")
    start = time.perf_counter()
    if not Path(p.data.video.root).exists():
        prepare(p)
    print(f"prepare (default data): {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    for stage in list(p.stages)[:list(p.stages).index(tuned_stage(p))]:  # the tuned one's upstream
        cfg = p.stages[stage]
        if not model_file(stage).exists():
            untrained = (dataclasses.replace(cfg, epochs=0) if hasattr(cfg, "epochs") else
                         dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=0)))
            train_stage(dataclasses.replace(p, stages={**p.stages, stage: untrained}), stage)
    print(f"upstream models (0 epochs): {time.perf_counter() - start:.1f} s")

    shutil.rmtree("tune", ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "vreid.cli", "tune"], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
    print("\n".join(line for line in proc.stdout.splitlines() if line.startswith(("  ", "best"))))
    t = p.tune
    print(f"vreid tune, default params ({t.num_samples} trials x {t.epochs} epoch x "
          f"{t.iters_per_epoch} iterations, {t.holdout_ids} validation ids): {wall:.1f} s wall")
    load = os.getloadavg()
    print(f"cpus {os.cpu_count()}, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "vreid.cli", "tune"], env=env,
                          capture_output=True, text=True)
    print(f"vreid tune again (restored, nothing rerun): {time.perf_counter() - start:.1f} s")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
