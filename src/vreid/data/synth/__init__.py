"""Procedural pedestrian generator: the default, deterministic input of every stage.

It renders people (numpy Generator + Pillow shapes) together with a per-pixel
human-parsing label map in LIP's 20-class order, adds per-camera nuisance, and
writes the on-disk layouts of MARS (:func:`write_mars`), Market-1501
(:func:`write_market1501`), LIP (:func:`write_lip`) and EgoReID (:func:`write_egoreid`,
an egocentric world with moving phone cameras and their sensor logs), so the same
readers read synthetic and real data.  Only numpy, Pillow, scipy and (for the typed
config sections) pydantic are used (no torch).
"""

from .appearance import Identity, clothing_palette, jitter_identity, sample_identity
from .camera import (
    CameraStyle,
    Nuisance,
    Occluder,
    apply_camera,
    make_background,
    render_frame,
    sample_camera_style,
    sample_nuisance,
)
from .config import Difficulty, EgoWorldConfig, ImageSetConfig, ParsingSetConfig, RenderConfig, TwoCameraSetConfig, VideoSetConfig
from .egocentric import write_egoreid
from .smallsets import write_ilids_vid, write_prid2011
from .layouts import atomic_directory, save_mat, write_lip, write_market1501, write_mars
from .render import LIP_CLASSES, VIEWS, Placement, draw_person, render_person

__all__ = [
    "write_ilids_vid", "write_prid2011", "TwoCameraSetConfig",
    "Difficulty",
    "RenderConfig",
    "VideoSetConfig",
    "ImageSetConfig",
    "ParsingSetConfig",
    "EgoWorldConfig",
    "Identity",
    "sample_identity",
    "jitter_identity",
    "clothing_palette",
    "LIP_CLASSES",
    "VIEWS",
    "Placement",
    "draw_person",
    "render_person",
    "CameraStyle",
    "Nuisance",
    "Occluder",
    "sample_camera_style",
    "sample_nuisance",
    "make_background",
    "apply_camera",
    "render_frame",
    "write_mars",
    "write_market1501",
    "write_lip",
    "write_egoreid",
    "atomic_directory",
    "save_mat",
]
