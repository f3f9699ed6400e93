import numpy as np
import pytest

from vreid.data.synth import (
    Difficulty,
    apply_camera,
    make_background,
    render_frame,
    sample_camera_style,
    sample_identity,
    sample_nuisance,
)

H, W = 128, 64
OFF = dict(color_cast=0.0, illumination=0.0, blur_prob=0.0, occlusion_prob=0.0, truncation_prob=0.0, misalign=0.0,
           clutter=0.0, low_res_prob=0.0, noise=0.0, frame_jitter=0.0)
IDENT = sample_identity(np.random.default_rng(0), Difficulty())


def _frame(seed=0, t=0, person_occluders=True, **knobs):
    d = Difficulty(**{**OFF, **knobs})
    style = sample_camera_style(1, d, np.random.default_rng(seed))
    nz = sample_nuisance(style, d, H, W, np.random.default_rng(seed + 1), person_occluders=person_occluders)
    img, lab = render_frame(IDENT, "front", 0.3 * t, nz, t, np.random.default_rng(seed + 2 + t))
    return np.asarray(img).astype(int), lab, nz


def test_all_off_is_clean_and_deterministic():
    a, la, nz = _frame()
    b, lb, _ = _frame()
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert nz.blur_sigma == 0 and nz.low_res == 1 and nz.occluder is None and np.allclose(nz.light, 1.0)
    # background without clutter: only the two base colours (wall, floor) modulated by the light gradient
    bg = a[lb == 0]
    assert len(np.unique(bg[:, 0])) < 40


@pytest.mark.parametrize(
    "knob,value,label_changes",
    [
        ("color_cast", 0.5, False),
        ("illumination", 0.8, False),
        ("blur_prob", 1.0, False),
        ("low_res_prob", 1.0, False),
        ("noise", 8.0, False),
        ("clutter", 2.0, False),
        ("occlusion_prob", 1.0, True),
        ("truncation_prob", 1.0, True),
        ("misalign", 0.3, True),
        ("frame_jitter", 0.05, True),
    ],
)
def test_each_knob_changes_frames(knob, value, label_changes):
    base, lbase, _ = _frame(seed=3)
    on, lon, _ = _frame(seed=3, **{knob: value})
    assert np.abs(base - on).mean() > 0.5, knob
    assert (not np.array_equal(lbase, lon)) == label_changes, knob


def test_truncation_cuts_lower_body():
    hits = 0
    for seed in range(5):
        _, lab, nz = _frame(seed=10 * seed, truncation_prob=1.0)
        assert nz.placement.scale > 1.25
        hits += int(not np.isin(lab, [18, 19]).any())
        assert (lab == 13).any()  # the head stays in the frame
    assert hits >= 4


def test_occluders_object_and_person():
    kinds = set()
    for seed in range(12):
        img, lab, nz = _frame(seed=seed, occlusion_prob=1.0)
        _, lab0, _ = _frame(seed=seed)
        occ = nz.occluder
        kinds.add(occ.kind)
        if occ.kind == "object":
            assert (lab <= lab0).all()  # objects only hide the target (label 0)
        else:
            gained = (lab != lab0) & (lab > 0)
            assert gained.any()  # the occluding person's pixels carry its classes
    assert kinds == {"object", "person"}
    for seed in range(8):
        _, _, nz = _frame(seed=seed, occlusion_prob=1.0, person_occluders=False)
        assert nz.occluder.kind == "object"


def test_apply_camera_keeps_size_and_is_deterministic():
    d = Difficulty(blur_prob=1.0, low_res_prob=1.0)
    style = sample_camera_style(2, d, np.random.default_rng(1))
    nz = sample_nuisance(style, d, H, W, np.random.default_rng(2))
    src = np.full((H, W, 3), 120, np.uint8)
    a = apply_camera(src, nz, np.random.default_rng(5))
    b = apply_camera(src, nz, np.random.default_rng(5))
    assert a.size == (W, H) and np.array_equal(np.asarray(a), np.asarray(b))


def test_camera_styles_differ():
    d = Difficulty()
    s1 = sample_camera_style(1, d, np.random.default_rng(1))
    s2 = sample_camera_style(2, d, np.random.default_rng(2))
    assert s1 != s2
    b1 = make_background(s1, H, W, 0.5, np.random.default_rng(0))
    b2 = make_background(s2, H, W, 0.5, np.random.default_rng(0))
    assert b1.shape == (H, W, 3) and b1.dtype == np.uint8 and not np.array_equal(b1, b2)
