"""File entry point of the training flow (the flow itself: vreid.flows.training)."""

from vreid.flows.training import main, training_flow

__all__ = ["training_flow"]

if __name__ == "__main__":
    main()
