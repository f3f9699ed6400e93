"""The per-identity attribute file beside the synthetic MARS layout."""

import dataclasses
import hashlib

import pytest

from vreid.data.readers import read_attributes, read_mars
from vreid.data.synth import Difficulty, RenderConfig, VideoSetConfig, layouts, write_mars
from vreid.data.synth.appearance import ACCESSORIES, identity_attributes, sample_identity

R = RenderConfig(height=64, width=32)
VIDEO = VideoSetConfig(num_train_ids=6, num_test_ids=6, num_cams=3, cams_per_id=(2, 2),
                       tracklets_per_cam=(1, 1), frames=(2, 2), num_distractors=2, num_junk=1)
D = Difficulty(accessory_rate=2.0)  # about half of the persons carry each accessory
SEED = 11


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def mars(tmp_path_factory):
    root = tmp_path_factory.mktemp("attr") / "MARS"
    write_mars(root, VIDEO, R, D, seed=SEED)
    return root


def test_attributes_are_the_drawn_identities(mars):
    attrs = read_attributes(mars)
    assert attrs.names == ACCESSORIES
    index = read_mars(mars)
    pids = {t.pid for t in index.train + index.query + index.gallery} - {0}
    assert set(attrs.by_pid) == pids and len(pids) == 12  # every identity, train and test
    for pid in pids:  # the identity the writer drew: its own seed stream per pid
        ident = sample_identity(layouts._rng(SEED, layouts._MARS, layouts._S_ID, pid), D)
        assert attrs.by_pid[pid] == {n for n, has in identity_attributes(ident).items() if has}
    # the file is informative: some accessories are carried by some persons and not others
    carried = [sum(name in attrs.by_pid[p] for p in pids) for name in ACCESSORIES]
    assert any(0 < c < len(pids) for c in carried)


def test_identity_attributes_read_the_fields():
    ident = sample_identity(layouts._rng(SEED, layouts._MARS, layouts._S_ID, 1), D)
    bare = dataclasses.replace(ident, hat=None, sunglasses=False, scarf=None, coat=None,
                               backpack=None, handbag=None, phone=False)
    assert not any(identity_attributes(bare).values())
    full = dataclasses.replace(bare, hat=(0, 0, 0), sunglasses=True, backpack=(1, 2, 3),
                               phone=True)
    assert {n for n, v in identity_attributes(full).items() if v} == {
        "hat", "sunglasses", "backpack", "phone"}


def test_no_accessories_gives_all_zero(tmp_path):
    write_mars(tmp_path / "m", VIDEO, R, Difficulty(accessory_rate=0.0), seed=SEED)
    attrs = read_attributes(tmp_path / "m")
    assert len(attrs.by_pid) == 12 and not any(attrs.by_pid.values())


def test_frames_unchanged_by_the_attribute_file(mars, tmp_path, monkeypatch):
    """The attribute writer draws nothing: every other file is byte-identical to a write
    without it."""
    monkeypatch.setattr(layouts, "write_attributes", lambda root, identities: None)
    write_mars(tmp_path / "plain", VIDEO, R, D, seed=SEED)
    plain, with_attrs = _digest(tmp_path / "plain"), _digest(mars)
    assert "attributes.csv" in with_attrs and "attributes.csv" not in plain
    del with_attrs["attributes.csv"]
    assert with_attrs == plain
    assert any(k.endswith(".jpg") for k in plain)
