"""Frozen configuration dataclasses of the synthetic generator.

All fields are plain ints / floats / tuples so the pipeline can override them from
``params.yaml``; lists are accepted and normalised to tuples, and ``from_dict``
builds a config from a mapping (unknown keys raise ``ValueError``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

__all__ = ["Difficulty", "RenderConfig", "VideoSetConfig", "ImageSetConfig", "ParsingSetConfig", "EgoWorldConfig"]


class _Config:
    """Mixin: list -> tuple normalisation, validation hook and ``from_dict``."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, list):
                v = tuple(v)
                object.__setattr__(self, f.name, v)
            if isinstance(v, tuple):
                if len(v) != 2 or v[0] > v[1]:
                    raise ValueError(f"{type(self).__name__}.{f.name} must be a (low, high) pair, got {v!r}")
        self._validate()

    def _validate(self) -> None:
        pass

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None = None, **overrides: Any):
        data = dict(d or {})
        data.update(overrides)
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Difficulty(_Config):
    """Difficulty knobs. Every knob changes the data; 0 switches its effect off.

    palette_size: number of clothing colours identities draw from (>= 1). Smaller ->
        single attributes are shared by more identities (harder); 1 = everyone wears
        the same colours.
    appearance_jitter: per-tracklet colour noise of clothes, std as a fraction of 255.
    color_cast: per-channel gain spread of a camera (+-), plus a third of it per tracklet.
    illumination: log-brightness spread of a camera (+-), plus half of it per tracklet.
    blur_prob: probability that a tracklet is Gaussian-blurred (sigma 0.6-1.8 px).
    occlusion_prob: probability that a tracklet is occluded, by an object or (half of
        the time) by another person drawn partially in front (its classes in the label).
    truncation_prob: probability that a tracklet's crop cuts the lower body off.
    misalign: crop misalignment, max offset as a fraction of the box size (+ scale).
    clutter: background clutter density (mean number of shapes = 12 * clutter).
    low_res_prob: probability that a tracklet is downscaled 2-4x then upscaled.
    noise: std of additive Gaussian sensor noise, in 0..255 levels.
    frame_jitter: per-frame scale / position jitter of the box along a tracklet,
        std as a fraction of the box height.
    accessory_rate: multiplies the probabilities of hat, sunglasses, scarf, coat,
        backpack, handbag and phone (0 = no accessories).
    """

    palette_size: int = 10
    appearance_jitter: float = 0.04
    color_cast: float = 0.15
    illumination: float = 0.3
    blur_prob: float = 0.3
    occlusion_prob: float = 0.2
    truncation_prob: float = 0.1
    misalign: float = 0.06
    clutter: float = 0.5
    low_res_prob: float = 0.2
    noise: float = 3.0
    frame_jitter: float = 0.01
    accessory_rate: float = 1.0

    def _validate(self) -> None:
        if int(self.palette_size) < 1:
            raise ValueError("Difficulty.palette_size must be >= 1")
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"Difficulty.{f.name} must be >= 0")
        for name in ("blur_prob", "occlusion_prob", "truncation_prob", "low_res_prob"):
            if getattr(self, name) > 1:
                raise ValueError(f"Difficulty.{name} is a probability (<= 1)")


@dataclass(frozen=True)
class RenderConfig(_Config):
    """Frame size of the re-ID sets (pixels) and the JPEG quality of every writer."""

    height: int = 128
    width: int = 64
    jpeg_quality: int = 90

    def _validate(self) -> None:
        if self.height < 32 or self.width < 16:
            raise ValueError("RenderConfig: frames must be at least 32x16")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError("RenderConfig.jpeg_quality must be in 1..100")


def _check_cams(cfg: Any) -> None:
    if not 2 <= cfg.num_cams <= 6:
        raise ValueError(f"{type(cfg).__name__}.num_cams must be in 2..6 (one-digit camera ids)")
    lo, hi = cfg.cams_per_id
    if lo < 2 or hi > cfg.num_cams:
        raise ValueError(f"{type(cfg).__name__}.cams_per_id must lie in [2, num_cams]")
    for name in ("num_train_ids", "num_test_ids", "num_distractors", "num_junk"):
        if getattr(cfg, name) < 0:
            raise ValueError(f"{type(cfg).__name__}.{name} must be >= 0")


@dataclass(frozen=True)
class VideoSetConfig(_Config):
    """MARS-like video set. ``*_per_*`` and ``frames`` are inclusive (low, high) ranges.

    num_distractors / num_junk are counts of extra gallery tracklets with pid 0 / -1.
    """

    num_train_ids: int = 100
    num_test_ids: int = 100
    num_cams: int = 6
    cams_per_id: tuple[int, int] = (2, 4)
    tracklets_per_cam: tuple[int, int] = (1, 2)
    frames: tuple[int, int] = (8, 24)
    num_distractors: int = 20
    num_junk: int = 10

    def _validate(self) -> None:
        _check_cams(self)
        if self.tracklets_per_cam[0] < 1:
            raise ValueError("VideoSetConfig.tracklets_per_cam must be >= 1")
        if self.frames[0] < 1 or self.frames[1] > 999:
            raise ValueError("VideoSetConfig.frames must lie in [1, 999]")


@dataclass(frozen=True)
class ImageSetConfig(_Config):
    """Market-1501-like image set; ``images_per_cam`` is an inclusive range (>= 2 so
    that a query camera keeps gallery images of the identity).

    num_distractors / num_junk are counts of extra gallery images with pid 0 / -1.
    """

    num_train_ids: int = 100
    num_test_ids: int = 100
    num_cams: int = 6
    cams_per_id: tuple[int, int] = (2, 4)
    images_per_cam: tuple[int, int] = (2, 5)
    num_distractors: int = 50
    num_junk: int = 30

    def _validate(self) -> None:
        _check_cams(self)
        if self.images_per_cam[0] < 2:
            raise ValueError("ImageSetConfig.images_per_cam must be >= 2")


@dataclass(frozen=True)
class ParsingSetConfig(_Config):
    """LIP-like parsing set: single people of varied sizes (inclusive pixel ranges)."""

    num_train: int = 400
    num_val: int = 100
    height: tuple[int, int] = (128, 160)
    width: tuple[int, int] = (64, 96)

    def _validate(self) -> None:
        if self.num_train < 0 or self.num_val < 0:
            raise ValueError("ParsingSetConfig counts must be >= 0")
        if self.height[0] < 32 or self.width[0] < 16:
            raise ValueError("ParsingSetConfig sizes must be at least 32x16")


@dataclass(frozen=True)
class EgoWorldConfig(_Config):
    """The egocentric world of :mod:`vreid.data.synth.egocentric` (EgoReID layout).

    Phone holders (the cameras) and pedestrians move along a straight campus walkway of
    ``walkway_length_m`` x ``walkway_width_m`` heading ``walkway_bearing_deg``, whose
    start is at (origin_lat, origin_lon). Ranges are inclusive (low, high) pairs.

    num_pedestrians: people walking during the recording (only those seen are written).
    duration_s: recording length; camera_speed: holders' mean walking speeds (m/s).
    pedestrian_speed / pedestrian_speed_std: walking speed mean and spread (m/s).
    view_range_m: a person is seen between these distances inside ``fov_deg``;
        closer than ``truncation_range_m`` the crop cuts the lower body off.
    frames: frames per tracklet; frame_rate: frames per second of visibility sampled
        (a person must stay in view frames[0] / frame_rate seconds to give a tracklet).
    sensor_rate_hz: sample rate of the 12 sensor streams; sensor_noise: multiplies each
        stream's typical phone noise (GPS 2 m, heading 2 deg, ...; 0 = exact sensors).
    test_fraction: share of the identities in the test split.
    """

    num_pedestrians: int = 360
    num_cameras: int = 3
    duration_s: float = 600.0
    walkway_length_m: float = 400.0
    walkway_width_m: float = 8.0
    walkway_bearing_deg: float = 30.0
    origin_lat: float = 40.0
    origin_lon: float = -83.0
    camera_speed: tuple[float, float] = (0.3, 0.9)
    pedestrian_speed: float = 1.3
    pedestrian_speed_std: float = 0.1
    view_range_m: tuple[float, float] = (1.5, 12.0)
    fov_deg: float = 60.0
    truncation_range_m: float = 4.0
    frames: tuple[int, int] = (16, 31)
    frame_rate: float = 4.0
    sensor_rate_hz: float = 2.0
    sensor_noise: float = 0.5
    test_fraction: float = 0.5

    def _validate(self) -> None:
        if not 2 <= self.num_cameras <= 9:
            raise ValueError("EgoWorldConfig.num_cameras must be in 2..9 (one-digit camera ids)")
        if self.num_pedestrians < 0 or self.num_pedestrians > 9999:
            raise ValueError("EgoWorldConfig.num_pedestrians must be in 0..9999")
        for name in ("duration_s", "walkway_length_m", "walkway_width_m", "fov_deg",
                     "frame_rate", "sensor_rate_hz"):
            if getattr(self, name) <= 0:
                raise ValueError(f"EgoWorldConfig.{name} must be > 0")
        if self.camera_speed[0] < 0 or self.view_range_m[0] < 0 or self.frames[0] < 1:
            raise ValueError("EgoWorldConfig: camera_speed, view_range_m must be >= 0, frames >= 1")
        if self.pedestrian_speed <= 0 or self.pedestrian_speed_std < 0 or self.sensor_noise < 0:
            raise ValueError("EgoWorldConfig: pedestrian_speed > 0, its std and sensor_noise >= 0")
        if not 0 < self.test_fraction < 1:
            raise ValueError("EgoWorldConfig.test_fraction must be in (0, 1)")
