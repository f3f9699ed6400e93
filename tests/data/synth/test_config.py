import dataclasses

import pytest

from vreid.data.synth import (
    Difficulty,
    EgoWorldConfig,
    ImageSetConfig,
    ParsingSetConfig,
    RenderConfig,
    VideoSetConfig,
)


def test_lists_normalised_to_tuples_and_hashable():
    v = VideoSetConfig(num_train_ids=3, frames=[2, 5], cams_per_id=[2, 3])
    assert v.frames == (2, 5) and v.cams_per_id == (2, 3) and v.num_train_ids == 3
    assert hash(v) == hash(VideoSetConfig(**dataclasses.asdict(v)))
    assert Difficulty(noise=3).noise == 3.0 and isinstance(Difficulty(noise=3).noise, float)


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: VideoSetConfig(frames=(5, 2)), "frames"),
        (lambda: VideoSetConfig(frames=(1, 1000)), "frames"),
        (lambda: VideoSetConfig(cams_per_id=(1, 3)), "cams_per_id"),
        (lambda: VideoSetConfig(num_cams=7, cams_per_id=(2, 3)), "num_cams"),
        (lambda: VideoSetConfig(num_cams=3, cams_per_id=(2, 4)), "cams_per_id"),
        (lambda: ImageSetConfig(images_per_cam=(1, 3)), "images_per_cam"),
        (lambda: Difficulty(palette_size=0), "palette_size"),
        (lambda: Difficulty(blur_prob=1.5), "blur_prob"),
        (lambda: Difficulty(noise=-1), "noise"),
        (lambda: RenderConfig(jpeg_quality=0), "jpeg_quality"),
        (lambda: ParsingSetConfig(num_train=-1), "num_train"),
        (lambda: EgoWorldConfig(test_fraction=1.0), "test_fraction"),
        (lambda: EgoWorldConfig(num_cameras=10), "num_cameras"),
        (lambda: EgoWorldConfig(view_range_m=(12.0, 1.5)), "view_range_m"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


@pytest.mark.parametrize("make", [
    lambda: VideoSetConfig(num_train_idz=3),  # unknown key
    lambda: VideoSetConfig(num_train_ids="3"),  # no str -> int coercion
    lambda: VideoSetConfig(num_train_ids=3.0),
    lambda: RenderConfig(height=True),
    lambda: Difficulty(noise="3.0"),
    lambda: VideoSetConfig(frames=(2, 5, 7)),
])
def test_unknown_keys_and_wrong_types_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_frozen_and_replace_revalidates():
    d = Difficulty()
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.blur_prob = 0.5  # type: ignore[misc]
    assert dataclasses.replace(d, blur_prob=0.5).blur_prob == 0.5
    with pytest.raises(ValueError, match="blur_prob"):
        dataclasses.replace(d, blur_prob=2.0)
