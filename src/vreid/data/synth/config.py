"""Frozen configuration sections of the synthetic generator (params.yaml's `synth:`).

Pydantic dataclasses (`vreid.schema`): a wrong type, an out-of-range value or an
unknown key is refused at construction with the field's name; lists are accepted for
the inclusive (low, high) ranges and stored as tuples.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from vreid.schema import Float, NonNegFloat, NonNegInt, PosFloat, Probability, Range, section

__all__ = ["Difficulty", "RenderConfig", "VideoSetConfig", "ImageSetConfig", "ParsingSetConfig", "EgoWorldConfig"]

NumCams = Annotated[int, Field(strict=True, ge=2, le=6)]  # one-digit camera ids
CamsPerId = Range(Annotated[int, Field(strict=True, ge=2)])  # <= num_cams: checked per set


@section
class Difficulty:
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

    palette_size: Annotated[int, Field(strict=True, ge=1)] = 10
    appearance_jitter: NonNegFloat = 0.04
    color_cast: NonNegFloat = 0.15
    illumination: NonNegFloat = 0.3
    blur_prob: Probability = 0.3
    occlusion_prob: Probability = 0.2
    truncation_prob: Probability = 0.1
    misalign: NonNegFloat = 0.06
    clutter: NonNegFloat = 0.5
    low_res_prob: Probability = 0.2
    noise: NonNegFloat = 3.0
    frame_jitter: NonNegFloat = 0.01
    accessory_rate: NonNegFloat = 1.0


@section
class RenderConfig:
    """Frame size of the re-ID sets (pixels, at least 32x16) and the JPEG quality of every
    writer (1..100)."""

    height: Annotated[int, Field(strict=True, ge=32)] = 128
    width: Annotated[int, Field(strict=True, ge=16)] = 64
    jpeg_quality: Annotated[int, Field(strict=True, ge=1, le=100)] = 90


class _CamerasWithinSet:
    """Cross-field check of the re-ID sets: an identity cannot visit more cameras than exist."""

    @model_validator(mode="after")
    def _cams_per_id_within_num_cams(self):
        if self.cams_per_id[1] > self.num_cams:
            raise ValueError(f"cams_per_id {list(self.cams_per_id)} must lie in [2, num_cams "
                             f"= {self.num_cams}]")
        return self


@section
class VideoSetConfig(_CamerasWithinSet):
    """MARS-like video set. ``*_per_*`` and ``frames`` are inclusive (low, high) ranges.

    num_distractors / num_junk are counts of extra gallery tracklets with pid 0 / -1.
    """

    num_train_ids: NonNegInt = 100
    num_test_ids: NonNegInt = 100
    num_cams: NumCams = 6
    cams_per_id: CamsPerId = (2, 4)
    tracklets_per_cam: Range(Annotated[int, Field(strict=True, ge=1)]) = (1, 2)
    frames: Range(Annotated[int, Field(strict=True, ge=1, le=999)]) = (8, 24)
    num_distractors: NonNegInt = 20
    num_junk: NonNegInt = 10


@section
class ImageSetConfig(_CamerasWithinSet):
    """Market-1501-like image set; ``images_per_cam`` is an inclusive range (>= 2 so
    that a query camera keeps gallery images of the identity).

    num_distractors / num_junk are counts of extra gallery images with pid 0 / -1.
    """

    num_train_ids: NonNegInt = 100
    num_test_ids: NonNegInt = 100
    num_cams: NumCams = 6
    cams_per_id: CamsPerId = (2, 4)
    images_per_cam: Range(Annotated[int, Field(strict=True, ge=2)]) = (2, 5)
    num_distractors: NonNegInt = 50
    num_junk: NonNegInt = 30


@section
class ParsingSetConfig:
    """LIP-like parsing set: single people of varied sizes (inclusive pixel ranges, at
    least 32x16)."""

    num_train: NonNegInt = 400
    num_val: NonNegInt = 100
    height: Range(Annotated[int, Field(strict=True, ge=32)]) = (128, 160)
    width: Range(Annotated[int, Field(strict=True, ge=16)]) = (64, 96)


@section
class EgoWorldConfig:
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

    num_pedestrians: Annotated[int, Field(strict=True, ge=0, le=9999)] = 360
    num_cameras: Annotated[int, Field(strict=True, ge=2, le=9)] = 3  # one-digit camera ids
    duration_s: PosFloat = 600.0
    walkway_length_m: PosFloat = 400.0
    walkway_width_m: PosFloat = 8.0
    walkway_bearing_deg: Float = 30.0
    origin_lat: Annotated[float, Field(strict=True, ge=-90, le=90)] = 40.0
    origin_lon: Annotated[float, Field(strict=True, ge=-180, le=180)] = -83.0
    camera_speed: Range(NonNegFloat) = (0.3, 0.9)
    pedestrian_speed: PosFloat = 1.3
    pedestrian_speed_std: NonNegFloat = 0.1
    view_range_m: Range(NonNegFloat) = (1.5, 12.0)
    fov_deg: PosFloat = 60.0
    truncation_range_m: NonNegFloat = 4.0
    frames: Range(Annotated[int, Field(strict=True, ge=1)]) = (16, 31)
    frame_rate: PosFloat = 4.0
    sensor_rate_hz: PosFloat = 2.0
    sensor_noise: NonNegFloat = 0.5
    test_fraction: Annotated[float, Field(strict=True, gt=0, lt=1)] = 0.5


@section
class TwoCameraSetConfig:
    """iLIDS-VID- / PRID2011-like two-camera video set: every person has one sequence in
    each camera; ``frames`` is an inclusive (low, high) range of frames per sequence.
    Small by default so that `prepare` stays fast."""

    num_persons: Annotated[int, Field(strict=True, ge=2)] = 40
    frames: Range(Annotated[int, Field(strict=True, ge=1, le=9999)]) = (4, 8)
    num_splits: Annotated[int, Field(strict=True, ge=1)] = 10
