"""Hyper-parameter search (Ray Tune) over a training stage: an orchestration layer.

`space` turns the `tune:` section of params.yaml into trial Params (no Ray needed);
`trial` is what runs inside each Tune trial (the tracked stage function plus a hook that
scores a validation split and reports to Tune); `search` drives the Tuner, the MLflow
search run and reports/best_params.yaml; `cluster` connects to Ray and runs plain
functions as Ray tasks (also the leaderboard's jobs). Ray is imported lazily, inside functions.
"""

from .space import trial_params, validate_space

__all__ = ["trial_params", "validate_space"]
