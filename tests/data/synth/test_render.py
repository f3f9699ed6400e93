from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from vreid.data.synth import LIP_CLASSES, VIEWS, Difficulty, RenderConfig, render_person, sample_identity

R = RenderConfig()


def _ident(seed=0, **changes):
    base = sample_identity(np.random.default_rng(seed), Difficulty())
    defaults = dict(hat=None, sunglasses=False, scarf=None, coat=None, backpack=None, handbag=None, phone=False,
                    lower="trousers", lower_length=1.0, texture="plain", sleeve="long")
    defaults.update(changes)
    return replace(base, **defaults)


def test_lip_classes():
    assert len(LIP_CLASSES) == 20 and LIP_CLASSES[12] == "Skirt" and LIP_CLASSES[19] == "Right-shoe"


@pytest.mark.parametrize("view", VIEWS)
def test_shapes_and_label_agree_with_rgb(view):
    bg = np.zeros((R.height, R.width, 3), np.uint8)
    ident = _ident(1, upper_color=(200, 10, 10), lower_color=(10, 200, 10))
    img, lab = render_person(ident, view, 0.7, R, background=bg)
    arr = np.asarray(img)
    assert img.mode == "RGB" and img.size == (R.width, R.height)
    assert lab.dtype == np.uint8 and lab.shape == (R.height, R.width) and lab.max() <= 19
    # garment pixels have the garment colour (far-side limbs of a side view are shaded darker)
    for cls, col in ((5, (200, 10, 10)), (9, (10, 200, 10))):
        got = {tuple(c) for c in arr[lab == cls]}
        assert got and got <= {col, tuple(int(round(v * 0.8)) for v in col)}
    assert np.all(arr[lab == 0] == 0)  # (no bags) label 0 is the background
    assert (lab > 0).mean() > 0.1


def test_garment_classes():
    counts = lambda lab: np.bincount(lab.ravel(), minlength=20)  # noqa: E731
    _, lab = render_person(_ident(2, lower="skirt", lower_length=0.5), "front", 0.0, R)
    c = counts(lab)
    assert c[12] > 0 and c[9] == 0 and c[16] > 0 and c[17] > 0
    _, lab = render_person(_ident(2, lower="dress", lower_length=0.5), "front", 0.0, R)
    c = counts(lab)
    assert c[6] > 0 and c[5] == 0 and c[12] == 0
    _, lab = render_person(_ident(2, hat=(1, 2, 3), sunglasses=True, scarf=(9, 9, 9), coat=(50, 50, 50)), "front", 0.0, R)
    c = counts(lab)
    assert c[1] > 0 and c[4] > 0 and c[11] > 0 and c[7] > 0 and c[13] > 0 and c[2] > 0
    assert all(c[k] > 0 for k in (14, 15, 18, 19))  # hands and shoes; long trousers hide the legs
    assert c[16] == 0 and c[17] == 0
    _, lab = render_person(_ident(2), "front", 0.0, R)
    c = counts(lab)
    assert c[1] == 0 and c[4] == 0 and c[7] == 0 and c[11] == 0 and c[9] > 0


def test_left_right_follow_view():
    ident = _ident(3)
    _, front = render_person(ident, "front", 0.0, R)
    _, back = render_person(ident, "back", 0.0, R)
    xs = np.arange(R.width)[None, :]
    # the person's left arm is on the image right in a front view, on the image left from behind
    assert (xs * (front == 14)).sum() / (front == 14).sum() > R.width / 2
    assert (xs * (back == 14)).sum() / (back == 14).sum() < R.width / 2


def test_face_visibility_by_view():
    ident = _ident(4)
    faces = {v: int((render_person(ident, v, 0.0, R)[1] == 13).sum()) for v in VIEWS}
    assert faces["back"] == 0
    assert faces["front"] > faces["left"] > 0 and faces["right"] > 0


def test_backpack_visible_from_behind():
    ident = _ident(5, upper_color=(200, 10, 10))
    with_bp = replace(ident, backpack=(10, 10, 200))
    for view, lo, hi in (("back", 0.3, 1.0), ("front", 0.02, 0.3)):
        _, lab0 = render_person(ident, view, 0.0, R)
        img1, lab1 = render_person(with_bp, view, 0.0, R)
        covered = 1.0 - (lab1 == 5).sum() / (lab0 == 5).sum()
        assert lo < covered < hi, (view, covered)
        blue = np.all(np.asarray(img1) == (10, 10, 200), axis=-1)
        assert blue.any() and np.all(lab1[blue] == 0)  # bags are drawn, labelled background


def test_walking_cycle_moves_limbs():
    ident = _ident(6)
    for view in VIEWS:
        _, a = render_person(ident, view, 0.0, R)
        _, b = render_person(ident, view, np.pi / 2, R)
        assert (a != b).sum() > 30, view


def test_textures_change_rgb_not_labels():
    plain = _ident(7, texture="plain")
    bg = np.zeros((R.height, R.width, 3), np.uint8)
    i0, l0 = render_person(plain, "front", 0.0, R, background=bg)
    for tex in ("stripes", "checks", "print"):
        i1, l1 = render_person(replace(plain, texture=tex), "front", 0.0, R, background=bg)
        assert np.array_equal(l0, l1)
        assert (np.asarray(i0) != np.asarray(i1)).any(axis=-1).sum() > 20, tex


def test_rng_jitter_deterministic():
    ident = _ident(8)
    a = render_person(ident, "front", 1.0, R, np.random.default_rng(3))
    b = render_person(ident, "front", 1.0, R, np.random.default_rng(3))
    c = render_person(ident, "front", 1.0, R, np.random.default_rng(4))
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0])) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert isinstance(a[0], Image.Image)
