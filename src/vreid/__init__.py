"""vreid: video-based person re-identification, five papers as one reproducible pipeline."""

__version__ = "0.1.0"
