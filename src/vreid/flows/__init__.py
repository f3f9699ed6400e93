"""Prefect front door: flows that chain the tracked stage functions as tasks.

`training.training_flow` runs the chain (prepare .. evaluate) with retries and cross-run
caching; `retraining.retraining_flow` retrains when the data changed and promotes only a
better model; `schedule.serve_retraining` serves it as a scheduled deployment. The tasks
only wire: all work is in `vreid.pipeline` / `vreid.tracking.stages` (what the CLI calls).
Prefect is imported by these modules only, never by the core packages.
"""
