import pytest

from vreid.data.synth import Difficulty, ImageSetConfig, ParsingSetConfig, RenderConfig, VideoSetConfig


def test_lists_normalised_and_from_dict():
    v = VideoSetConfig.from_dict({"num_train_ids": 3, "frames": [2, 5], "cams_per_id": [2, 3]})
    assert v.frames == (2, 5) and v.cams_per_id == (2, 3) and v.num_train_ids == 3
    assert VideoSetConfig(frames=[3, 4]).frames == (3, 4)
    assert hash(v) == hash(VideoSetConfig.from_dict(v.to_dict()))
    with pytest.raises(ValueError):
        VideoSetConfig.from_dict({"num_train_idz": 3})


@pytest.mark.parametrize(
    "make",
    [
        lambda: VideoSetConfig(frames=(5, 2)),
        lambda: VideoSetConfig(cams_per_id=(1, 3)),
        lambda: VideoSetConfig(num_cams=7, cams_per_id=(2, 3)),
        lambda: ImageSetConfig(images_per_cam=(1, 3)),
        lambda: Difficulty(palette_size=0),
        lambda: Difficulty(blur_prob=1.5),
        lambda: Difficulty(noise=-1),
        lambda: RenderConfig(jpeg_quality=0),
        lambda: ParsingSetConfig(num_train=-1),
    ],
)
def test_invalid_configs_raise(make):
    with pytest.raises(ValueError):
        make()


def test_frozen():
    d = Difficulty()
    with pytest.raises(Exception):
        d.blur_prob = 0.5  # type: ignore[misc]
