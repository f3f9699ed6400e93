import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from vreid.data.readers import read_dataset
from vreid.data.synth import Difficulty, EgoWorldConfig, RenderConfig, write_egoreid
from vreid.data.synth.egocentric import find_sightings, local_to_gps, sensor_log, simulate_world
from vreid.eval.metadata import bearing, distance_m

R = RenderConfig(height=64, width=32)
SMALL = EgoWorldConfig(num_pedestrians=60, duration_s=150.0, walkway_length_m=150.0)


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("ego") / "egoreid"
    return root, write_egoreid(root, SMALL, R, Difficulty(), seed=3)


def test_deterministic_and_seed_dependent(written, tmp_path):
    root, counts = written
    again = write_egoreid(tmp_path / "again", SMALL, R, Difficulty(), seed=3)
    assert again == counts and _tree_digest(tmp_path / "again") == _tree_digest(root)
    other = simulate_world(SMALL, seed=4)
    assert not np.allclose(other.cam_xy, simulate_world(SMALL, seed=3).cam_xy)


def test_layout_reads_back_with_metadata(written):
    root, counts = written
    index = read_dataset("egoreid", root)
    assert len(index.train) == counts["train"]["tracklets"] > 0
    assert len(index.query) == counts["query"]["tracklets"] > 0
    assert len(index.gallery) == counts["gallery"]["tracklets"]
    assert {t.pid for t in index.train}.isdisjoint(t.pid for t in (*index.query, *index.gallery))
    for t in (*index.train, *index.query, *index.gallery):
        assert 16 <= len(t.frames) <= 31
        assert t.meta["entry_time"] <= t.meta["exit_time"]
        assert t.meta["direction"] in ("towards", "away")
    # every query has a later appearance in another camera in the gallery
    for q in index.query:
        assert any(g.pid == q.pid and g.camid != q.camid
                   and g.meta["entry_time"] >= q.meta["exit_time"] for g in index.gallery)
    assert sorted(index.metadata["sensors"]) == [0, 1, 2]


def test_sensor_streams_agree_with_the_motion():
    world = simulate_world(SMALL, seed=1)
    exact = dataclasses.replace(SMALL, sensor_noise=0.0)
    world.cfg = exact
    log = sensor_log(world, 0)
    t, lat, lon = log["time_s"], log["latitude_deg"], log["longitude_deg"]
    assert np.allclose(np.diff(t), 1.0 / exact.sensor_rate_hz)
    step = distance_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    dt = np.diff(t)
    moving = step > 0.1
    # GPS displacement: speed (mean over the interval) and heading (its bearing)
    mean_speed = 0.5 * (log["speed_mps"][1:] + log["speed_mps"][:-1])
    turning = np.abs(np.diff(log["heading_deg"])) > 1
    ok = moving & ~turning
    np.testing.assert_allclose(step[ok] / dt[ok], mean_speed[ok], rtol=0.05)
    b = bearing(lat[:-1], lon[:-1], lat[1:], lon[1:])
    diff = np.abs((b - log["heading_deg"][:-1] + 180) % 360 - 180)
    assert (diff[ok] < 1.0).all()
    np.testing.assert_allclose(np.diff(log["distance_m"])[ok], step[ok], rtol=1e-3)
    g = np.stack([log[f"gravity_{a}_mps2"] for a in "xyz"], 1)
    np.testing.assert_allclose(np.linalg.norm(g, axis=1), 9.80665, rtol=1e-6)
    q = np.stack([log[f"rotation_{a}"] for a in "xyzw"], 1)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(log["azimuth_deg"], log["heading_deg"])
    # the noise knob perturbs the streams, never the clock
    world.cfg = dataclasses.replace(SMALL, sensor_noise=1.0)
    noisy = sensor_log(world, 0)
    assert np.array_equal(noisy["time_s"], t)
    err = distance_m(lat, lon, noisy["latitude_deg"], noisy["longitude_deg"])
    assert 0.5 < err.mean() < 6.0  # GPS noise of about 2 m per axis


def test_sightings_match_the_world_geometry():
    world = simulate_world(SMALL, seed=2)
    sightings = find_sightings(world)
    assert sightings and [s.entry for s in sightings] == sorted(s.entry for s in sightings)
    lo, hi = SMALL.view_range_m
    for s in sightings:
        assert all(lo <= d <= hi for d in s.distances)
        assert all(abs(a) <= SMALL.fov_deg / 2 for a in s.angles)
        # towards: the distance shrinks while the person is in view
        k = int(round(s.exit / 0.1))
        cam_dir = world.cam_heading[s.cam - 1, k]
        walks_with_camera = abs((world.ped_heading[s.pid - 1] - cam_dir + 180) % 360 - 180) < 90
        assert s.towards != walks_with_camera
    lat, lon = local_to_gps(np.array([[0.0, 1000.0]]), 40.0, -83.0)
    assert distance_m(40.0, -83.0, lat[0], lon[0]) == pytest.approx(1000.0, rel=1e-6)
