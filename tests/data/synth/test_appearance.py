import numpy as np

from vreid.data.synth import Difficulty, clothing_palette, jitter_identity, sample_identity


def _ids(n, seed=0, **kw):
    rng = np.random.default_rng(seed)
    return [sample_identity(rng, Difficulty(**kw)) for _ in range(n)]


def test_deterministic_and_seed_dependent():
    assert _ids(20, 1) == _ids(20, 1)
    assert _ids(20, 1) != _ids(20, 2)


def test_palette_limits_colours():
    for size in (1, 3, 10, 40):
        pal = set(clothing_palette(size))
        assert len(pal) == size
        for ident in _ids(60, 0, palette_size=size):
            assert ident.upper_color in pal and ident.lower_color in pal


def test_attributes_shared_combinations_vary():
    ids = _ids(200, 3, palette_size=6)
    uppers = [i.upper_color for i in ids]
    # single attributes are shared by many identities
    assert max(uppers.count(c) for c in set(uppers)) >= 20
    combos = {(i.upper_color, i.lower_color, i.lower, i.texture, i.sleeve, i.hair_color, i.backpack is not None) for i in ids}
    assert len(combos) > 150
    kinds = {i.lower for i in ids}
    assert kinds == {"trousers", "skirt", "dress"}
    assert {i.texture for i in ids} == {"plain", "stripes", "checks", "print"}
    assert any(i.hat for i in ids) and any(i.backpack for i in ids) and any(i.coat for i in ids)
    assert len({round(i.height_scale, 3) for i in ids}) > 100


def test_accessory_rate_zero_removes_accessories():
    for i in _ids(100, 4, accessory_rate=0.0):
        assert i.hat is None and i.scarf is None and i.coat is None and i.backpack is None
        assert i.handbag is None and not i.sunglasses and not i.phone


def test_jitter_identity():
    ident = _ids(1, 5)[0]
    assert jitter_identity(ident, np.random.default_rng(0), 0.0) == ident
    j = jitter_identity(ident, np.random.default_rng(0), 0.05)
    assert j != ident and j.skin == ident.skin and j.lower == ident.lower
    diff = np.abs(np.subtract(j.upper_color, ident.upper_color, dtype=float))
    assert diff.max() < 80
