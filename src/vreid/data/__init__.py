"""Data: the common index, readers of the real layouts, the synthetic generator, sampling."""

from .index import DatasetFormatError, ParsingIndex, ParsingSample, ReIDIndex, Tracklet
from .readers import DATASETS, read_dataset

__all__ = ["DATASETS", "DatasetFormatError", "ParsingIndex", "ParsingSample", "ReIDIndex",
           "Tracklet", "read_dataset"]
