"""What a stage task depends on and what it writes: its cache key, its outputs, and
which of its failures are worth a retry.

The key of a stage = the vreid source + the params sections the stage reads + content
digests of its input data and of other stages' files it reads, all read off the stage
graph that dvc.yaml is generated from (`vreid.pipeline.graph`), so a re-run with
unchanged inputs restores the stage's result instead of running it and an edited input
file runs it again. Prefect adds the task's own source (TASK_SOURCE).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..config import Params
from ..pipeline.fingerprint import dataset_digest, file_digest, fingerprint
from ..pipeline.graph import graph_stage


def section(p: Params, dotted: str) -> Any:
    """The params value at a dotted path (`stages.train_video.input`)."""
    value: Any = p
    for name in dotted.split("."):
        value = value[name] if isinstance(value, dict) else getattr(value, name)
    return value


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the vreid package's sources: a code change re-runs every stage (conservative;
    dvc.yaml lists per-stage source folders, a flow run checks them all)."""
    root = Path(__file__).resolve().parent.parent
    return fingerprint({str(f.relative_to(root)): file_digest(f)
                        for f in sorted(root.rglob("*.py"))})


def stage_inputs(stage: str, p: Params) -> dict[str, str]:
    """Content digests of what a stage reads: its datasets and other stages' files (one not
    written yet is "missing": the stage itself then fails, naming it)."""
    node = graph_stage(p, stage)
    return {**{f"data.{key}": dataset_digest(getattr(p.data, key)) for key in node.data},
            **{path: file_digest(path) if Path(path).is_file() else "missing"
               for path in node.inputs}}


def stage_key(stage: str, p: Params) -> str:
    node = graph_stage(p, stage)  # raises on an unknown stage
    sections = {name: section(p, name) for name in node.params}
    return f"vreid-{stage}-" + fingerprint(code_digest(), sections, stage_inputs(stage, p))


def stage_outputs(stage: str, p: Params) -> list[Path]:
    """The files a finished stage leaves; a cached result is reused only while they exist."""
    return list(graph_stage(p, stage).files)


def task_cache_key(context: Any, inputs: dict[str, Any]) -> str:
    """Prefect `cache_key_fn`: the stage is the task's `stage` argument, else the task's name."""
    return stage_key(inputs.get("stage") or context.task.name, inputs["p"])


# OSErrors that a second try cannot fix: a missing or unreadable file is a data/config error.
NOT_TRANSIENT = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                 PermissionError)


def is_transient(exc: BaseException | None) -> bool:
    """I/O hiccups (a network share, a full disk freed, a dropped tracking server)."""
    return isinstance(exc, OSError) and not isinstance(exc, NOT_TRANSIENT)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry transient I/O errors, never config or data errors."""
    exc = state.data if isinstance(state.data, BaseException) \
        else state.result(raise_on_failure=False)
    return is_transient(exc)
