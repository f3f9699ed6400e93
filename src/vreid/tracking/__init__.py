"""Experiment tracking (MLflow); the only layer that imports mlflow."""

from .env import disable_telemetry
from .mlflow_run import MlflowLogger, mlflow_run, tracking_uri

__all__ = ["MlflowLogger", "disable_telemetry", "mlflow_run", "tracking_uri"]
