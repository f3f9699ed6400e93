"""File entry point of the scheduled retraining flow (the flow itself: vreid.flows.retraining)."""

from vreid.flows.retraining import retraining_flow

__all__ = ["retraining_flow"]
