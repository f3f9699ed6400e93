"""The stage tasks: thin Prefect wrappers over the functions the CLI calls.

Every task retries transient I/O errors (never config or data errors) and is cached
across runs on its inputs (`caching.stage_key`); results persist in Prefect's result
storage ($PREFECT_HOME/storage unless configured), which is where the cache lives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from prefect import task
from prefect.cache_policies import TASK_SOURCE, CachePolicy

from ..config import Params
from .caching import retry_if_transient, task_cache_key

RETRIES = {"retries": 2, "retry_delay_seconds": [5, 30], "retry_condition_fn": retry_if_transient}
CACHED = {"cache_policy": TASK_SOURCE + CachePolicy.from_cache_key_fn(task_cache_key),
          "persist_result": True}


@task(name="prepare", **RETRIES, **CACHED)
def prepare_task(p: Params):
    from ..pipeline.prepare import prepare

    return prepare(p)


@task(name="validate", **RETRIES, **CACHED)
def validate_task(p: Params):
    from ..pipeline.validate import validate

    return validate(p, "reports")


@task(name="train", task_run_name="{stage}", **RETRIES, **CACHED)
def train_task(p: Params, stage: str, key: str, tags: Mapping[str, Any], resume: bool = True):
    """One stage of the `stages:` table (a parser or a re-ID stage)."""
    from ..tracking.stages import run_train_stage

    return run_train_stage(p, stage, key, resume=resume, tags=tags)


# The model evaluated, exported and benchmarked is the table's model stage's (the cache key
# digests that file: vreid.pipeline.graph).
@task(name="evaluate", **RETRIES, **CACHED)
def evaluate_task(p: Params, key: str, tags: Mapping[str, Any]):
    from ..tracking.stages import run_evaluate

    return run_evaluate(p, None, "reports", key, tags)


@task(name="evaluate_metadata", **RETRIES, **CACHED)
def evaluate_metadata_task(p: Params, key: str, tags: Mapping[str, Any]):
    from ..tracking.stages import run_evaluate_metadata

    return run_evaluate_metadata(p, None, "reports", key, tags)


@task(name="export", **RETRIES, **CACHED)
def export_task(p: Params, key: str, tags: Mapping[str, Any]):
    from ..tracking.stages import run_export

    return run_export(p, None, "models/export", "reports", key, tags)


@task(name="benchmark", **RETRIES, **CACHED)
def benchmark_task(p: Params, onnx_path: str, key: str, tags: Mapping[str, Any]):
    from ..tracking.stages import run_benchmark

    return run_benchmark(p, None, Path(onnx_path), "reports", key, tags)


@task(name="tune", **RETRIES, **CACHED)
def tune_task(p: Params, params_path: str, tags: Mapping[str, Any]):
    from ..hpo.search import run_search

    return run_search(p, params_path, tags=tags)


# Not cached by Prefect: the leaderboard reuses its finished (entry, seed) runs itself, by
# their fingerprints (vreid.pipeline.leaderboard), and reports on whatever is stored.
@task(name="leaderboard", **RETRIES)
def leaderboard_task(p: Params, key: str, tags: Mapping[str, Any], address: str | None = None):
    from ..tracking.stages import run_leaderboard

    return run_leaderboard(p, address=address, key=key, tags=tags)


@task(name="promote", **RETRIES)
def promote_task(p: Params, model_path: str, key: str, tags: Mapping[str, Any],
                 onnx_path: str | None = None):
    from ..tracking.registry import promote

    return promote(p, model_path, key=key, tags=tags, onnx_path=onnx_path)
