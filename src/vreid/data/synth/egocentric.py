"""The egocentric world: moving phone cameras, walking people, 12 sensor streams (EgoReID).

A deterministic simulation (numpy + Pillow only) of paper 000's recording set-up: the
holders of ``num_cameras`` phones walk along a straight campus walkway (GPS latitude /
longitude from a local east/north frame around ``origin_lat`` / ``origin_lon``), each with
a heading and a slowly varying speed, turning round at the walkway's ends; pedestrians
walk it at about 1.3 m/s (varied). A pedestrian inside a phone's field of view and range
for long enough becomes a tracklet of ``frames`` frames (16-31 by default) with its entry
and exit time and its direction (towards or away from the camera, seen from the front or
the back), rendered with the synthetic pedestrian renderer; people closer than
``truncation_range_m`` are cut off at the bottom. Every phone logs the 12 sensor streams
of :mod:`vreid.data.sensors` at ``sensor_rate_hz``, consistent with its motion, with
``sensor_noise`` times typical phone noise. All sizes are in
:class:`~vreid.data.synth.config.EgoWorldConfig`.

EgoReID layout written by :func:`write_egoreid` (read by the ``egoreid`` reader)::

    <root>/
      tracklets.csv                 id,pid,camera,entry_time,exit_time,direction,split
      sensors/cam<k>.csv            one log per camera k (1-based), columns: vreid.data.sensors
      train/<pid>/<id>/<pid>_C<k>_F<frame>_X0.jpg
      query/<pid>/<id>/...          (pid 4 digits, id = tracklet id 4 digits,
      gallery/<pid>/<id>/...         frame = video frame number at 30 fps)

The tracklet folders follow the DukeMTMC-VideoReID layout. Times are seconds since the
synchronised start of the recording; ``direction`` is ``towards`` or ``away``; ``split``
is ``train``, ``query`` or ``gallery``. Identities are split train / test; per test
identity, the query is its earliest tracklet that is followed by a tracklet in another
camera (its "next appearance"); the rest of the test tracklets form the gallery.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace

import numpy as np

from ..sensors import format_sensor_csv
from .appearance import jitter_identity, sample_identity
from .camera import render_frame, sample_camera_style, sample_nuisance
from .config import Difficulty, EgoWorldConfig, RenderConfig
from .layouts import _pid_str, _rng, _save_jpg, atomic_directory
from .render import Placement

__all__ = ["World", "Sighting", "simulate_world", "find_sightings", "visibility",
           "local_to_gps", "sensor_log", "assign_splits", "write_egoreid"]

_EGO = 4  # seed stream of this set (layouts use 1-3)
_S_CAM, _S_PED, _S_SPLIT, _S_ID, _S_TRACK, _S_SENSOR, _S_STYLE = range(20, 27)
DT = 0.1  # simulation step, seconds
VIDEO_FPS = 30  # frame numbers in file names count frames of a 30 fps video
EARTH_RADIUS_M = 6_371_008.8
# typical phone noise per stream (std), scaled by EgoWorldConfig.sensor_noise
_NOISE = {"gps_m": 2.0, "speed": 0.05, "heading": 2.0, "accel": 0.05, "gyro": 0.01,
          "magnetic": 0.5, "gravity": 0.02, "orientation": 1.0, "rotation": 0.002}
_EARTH_FIELD_UT = (20.0, 45.0)  # horizontal (north), vertical (down)


@dataclass
class World:
    """Positions in a local east/north frame (metres) on the time grid ``t``."""

    cfg: EgoWorldConfig
    t: np.ndarray  # [N]
    cam_xy: np.ndarray  # [C, N, 2]
    cam_heading: np.ndarray  # [C, N] degrees
    cam_speed: np.ndarray  # [C, N] m/s
    ped_xy: np.ndarray  # [P, N, 2]
    ped_present: np.ndarray  # [P, N] bool
    ped_heading: np.ndarray  # [P] degrees
    ped_speed: np.ndarray  # [P] m/s


@dataclass(frozen=True)
class Sighting:
    """One pedestrian seen by one camera: a tracklet before rendering."""

    pid: int  # 1-based
    cam: int  # 1-based
    entry: float
    exit: float
    towards: bool
    frame_times: tuple[float, ...]
    distances: tuple[float, ...]  # camera-person distance at each frame, metres
    angles: tuple[float, ...]  # signed angle of the person off the camera's axis, degrees


def _axes(bearing_deg: float) -> tuple[np.ndarray, np.ndarray]:
    b = math.radians(bearing_deg)
    return np.array([math.sin(b), math.cos(b)]), np.array([math.cos(b), -math.sin(b)])


def simulate_world(cfg: EgoWorldConfig = EgoWorldConfig(), seed: int = 0) -> World:
    """Camera and pedestrian trajectories, deterministic from ``seed``."""
    t = np.arange(0.0, cfg.duration_s + DT / 2, DT)
    n = len(t)
    along, across = _axes(cfg.walkway_bearing_deg)
    L, W = cfg.walkway_length_m, cfg.walkway_width_m
    cams = cfg.num_cameras
    cam_xy = np.empty((cams, n, 2))
    cam_heading = np.empty((cams, n))
    cam_speed = np.empty((cams, n))
    for c in range(cams):
        r = _rng(seed, _EGO, _S_CAM, c)
        s = float(r.uniform(0.3, 0.7)) * L
        d = 1.0 if r.random() < 0.5 else -1.0
        base = float(r.uniform(*cfg.camera_speed))
        lateral = float(r.uniform(-0.25, 0.25)) * W
        period, phase = float(r.uniform(40, 90)), float(r.uniform(0, 2 * math.pi))
        speed = base * (1.0 + 0.25 * np.sin(2 * math.pi * t / period + phase))
        for k in range(n):  # integrate, turning round at the walkway's ends
            if k:
                s += d * speed[k] * DT
                if s > L:
                    s, d = 2 * L - s, -d
                elif s < 0:
                    s, d = -s, -d
            cam_xy[c, k] = s * along + lateral * across
            cam_heading[c, k] = (cfg.walkway_bearing_deg + (0.0 if d > 0 else 180.0)) % 360.0
        cam_speed[c] = speed
    P = cfg.num_pedestrians
    r = _rng(seed, _EGO, _S_PED)
    t0 = r.uniform(-0.5 * cfg.duration_s, cfg.duration_s, P)
    s0 = r.uniform(0.0, L, P)
    d = np.where(r.random(P) < 0.5, 1.0, -1.0)
    v = np.clip(r.normal(cfg.pedestrian_speed, cfg.pedestrian_speed_std, P), 0.5, 2.5)
    lateral = r.uniform(-0.5, 0.5, P) * W
    s = s0[:, None] + (d * v)[:, None] * (t[None, :] - t0[:, None])
    present = (t[None, :] >= t0[:, None]) & (s >= 0) & (s <= L)
    ped_xy = s[..., None] * along + lateral[:, None, None] * across
    ped_heading = (cfg.walkway_bearing_deg + np.where(d > 0, 0.0, 180.0)) % 360.0
    return World(cfg, t, cam_xy, cam_heading, cam_speed, ped_xy, present, ped_heading, v)


def visibility(cam_xy, cam_heading, ped_xy, view_range_m, fov_deg):
    """(visible, distance m, signed angle deg) of people at ``ped_xy`` [..., 2] seen by a
    camera at ``cam_xy`` [..., 2] looking along ``cam_heading`` (broadcasting)."""
    rel = np.asarray(ped_xy, float) - np.asarray(cam_xy, float)
    dist = np.hypot(rel[..., 0], rel[..., 1])
    ang = (np.degrees(np.arctan2(rel[..., 0], rel[..., 1])) - cam_heading + 180.0) % 360.0 - 180.0
    vis = (dist >= view_range_m[0]) & (dist <= view_range_m[1]) & (np.abs(ang) <= fov_deg / 2)
    return vis, dist, ang


def find_sightings(world: World) -> list[Sighting]:
    """Every stay of a pedestrian in a camera's view long enough for ``frames[0]`` frames,
    sorted by entry time (then camera, pid)."""
    cfg = world.cfg
    lo, hi = cfg.frames
    min_steps = int(math.ceil((lo - 1) / cfg.frame_rate / DT))
    out = []
    for c in range(cfg.num_cameras):
        vis, dist, ang = visibility(world.cam_xy[c][None], world.cam_heading[c][None], world.ped_xy,
                                    cfg.view_range_m, cfg.fov_deg)
        vis &= world.ped_present
        for p in np.flatnonzero(vis.any(1)):
            edges = np.diff(np.concatenate([[0], vis[p].astype(np.int8), [0]]))
            for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
                if b - 1 - a < min_steps:
                    continue
                duration = (b - 1 - a) * DT
                nf = int(np.clip(int(duration * cfg.frame_rate) + 1, lo, hi))
                idx = np.round(np.linspace(a, b - 1, nf)).astype(int)
                cam_dir = math.radians(world.cam_heading[c, b - 1])
                ped_dir = math.radians(world.ped_heading[p])
                towards = math.cos(ped_dir - cam_dir) < 0
                out.append(Sighting(int(p) + 1, c + 1, float(world.t[a]), float(world.t[b - 1]), towards,
                                    tuple(float(x) for x in world.t[idx]),
                                    tuple(float(x) for x in dist[p, idx]),
                                    tuple(float(x) for x in ang[p, idx])))
    out.sort(key=lambda s: (s.entry, s.cam, s.pid))
    return out


def local_to_gps(xy, origin_lat: float, origin_lon: float):
    """(lat, lon) in degrees of local east/north metres (equirectangular, fine at campus scale)."""
    xy = np.asarray(xy, float)
    lat = origin_lat + np.degrees(xy[..., 1] / EARTH_RADIUS_M)
    lon = origin_lon + np.degrees(xy[..., 0] / (EARTH_RADIUS_M * math.cos(math.radians(origin_lat))))
    return lat, lon


def _quaternion(m: np.ndarray) -> np.ndarray:
    """(x, y, z, w) of rotation matrices m [..., 3, 3] (device -> east/north/up)."""
    w = 0.5 * np.sqrt(np.maximum(1e-12, 1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]))
    x = (m[..., 2, 1] - m[..., 1, 2]) / (4 * w)
    y = (m[..., 0, 2] - m[..., 2, 0]) / (4 * w)
    z = (m[..., 1, 0] - m[..., 0, 1]) / (4 * w)
    return np.stack([x, y, z, w], -1)


def sensor_log(world: World, cam: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The 12 streams of camera ``cam`` (0-based) at ``sensor_rate_hz``, with noise."""
    cfg = world.cfg
    ts = np.arange(0.0, cfg.duration_s + 1e-9, 1.0 / cfg.sensor_rate_hz)
    idx = np.minimum(np.round(ts / DT).astype(int), len(world.t) - 1)
    xy = world.cam_xy[cam]
    step = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    travelled = np.concatenate([[0.0], np.cumsum(step)])[idx]
    heading = world.cam_heading[cam][idx]
    speed = world.cam_speed[cam][idx]
    psi = np.radians(heading)
    # walking: vertical bob at the step frequency, forward speed changes, turns
    step_hz = 1.2 + 0.8 * speed
    bob = 0.8 * np.minimum(speed, 1.0) * np.sin(2 * math.pi * step_hz * ts)
    dv = np.gradient(speed, ts)
    dpsi = np.radians((np.gradient(np.unwrap(psi), ts)))
    g = 9.80665
    zeros = np.zeros_like(ts)
    # device axes in east/north/up: x right, y up, z towards the holder (camera looks along -z)
    x_dev = np.stack([np.cos(psi), -np.sin(psi), zeros], -1)
    y_dev = np.stack([zeros, zeros, np.ones_like(ts)], -1)
    z_dev = np.stack([-np.sin(psi), -np.cos(psi), zeros], -1)
    rot = np.stack([x_dev, y_dev, z_dev], -1)  # columns: device axes in the world frame
    bh, bv = _EARTH_FIELD_UT
    field = np.array([0.0, bh, -bv])
    r = _rng(seed, _EGO, _S_SENSOR, cam)
    k = cfg.sensor_noise

    def noisy(x, std):
        x = np.asarray(x, float)
        return x + r.normal(0.0, std * k, x.shape) if k > 0 else x

    lat, lon = local_to_gps(xy[idx], cfg.origin_lat, cfg.origin_lon)
    gps_deg = _NOISE["gps_m"] / EARTH_RADIUS_M * 180 / math.pi
    cols = {
        "time_s": ts,
        "latitude_deg": noisy(lat, gps_deg),
        "longitude_deg": noisy(lon, gps_deg / math.cos(math.radians(cfg.origin_lat))),
        "speed_mps": np.maximum(0.0, noisy(speed, _NOISE["speed"])),
        "distance_m": travelled,
        "heading_deg": noisy(heading, _NOISE["heading"]) % 360.0,
    }
    acc = np.stack([zeros, g + bob, -dv], -1)
    grav = np.stack([zeros, np.full_like(ts, g), zeros], -1)
    gyro = np.stack([zeros, -dpsi, 0.05 * np.sin(math.pi * step_hz * ts)], -1)
    mag = np.einsum("nij,i->nj", rot, field)
    orient = np.stack([heading, np.full_like(ts, -90.0), zeros], -1)
    quat = _quaternion(rot)
    for name, unit, arr in (("accel", "mps2", acc), ("gyro", "radps", gyro), ("magnetic", "ut", mag),
                            ("gravity", "mps2", grav)):
        for a, axis in enumerate("xyz"):
            cols[f"{name}_{axis}_{unit}"] = noisy(arr[:, a], _NOISE[name])
    for a, name in enumerate(("azimuth_deg", "pitch_deg", "roll_deg")):
        cols[name] = noisy(orient[:, a], _NOISE["orientation"])
    cols["azimuth_deg"] %= 360.0
    for a, axis in enumerate("xyzw"):
        cols[f"rotation_{axis}"] = noisy(quat[:, a], _NOISE["rotation"])
    return cols


def assign_splits(sightings: list[Sighting], test_fraction: float, seed: int) -> list[str]:
    """train / query / gallery per sighting (see the module docstring)."""
    pids = sorted({s.pid for s in sightings})
    perm = _rng(seed, _EGO, _S_SPLIT).permutation(len(pids))
    n_test = int(round(test_fraction * len(pids)))
    test = {pids[i] for i in perm[:n_test]}
    split = ["train" if s.pid not in test else "gallery" for s in sightings]
    by_pid: dict[int, list[int]] = {}
    for i, s in enumerate(sightings):
        by_pid.setdefault(s.pid, []).append(i)
    for pid in sorted(test):
        own = sorted(by_pid[pid], key=lambda i: (sightings[i].exit, i))
        for i in own:
            s = sightings[i]
            if any(sightings[o].cam != s.cam and sightings[o].entry >= s.exit for o in own):
                split[i] = "query"
                break
    return split


def _tracklet_images(s: Sighting, cfg: EgoWorldConfig, render: RenderConfig, difficulty: Difficulty,
                     seed: int, styles: list, identities: dict):
    r = _rng(seed, _EGO, _S_TRACK, s.pid, s.cam, int(s.entry * 10))
    ident = identities.get(s.pid)
    if ident is None:
        ident = identities[s.pid] = sample_identity(_rng(seed, _EGO, _S_ID, s.pid), difficulty)
    ident = jitter_identity(ident, np.random.default_rng(r.integers(2**63)), difficulty.appearance_jitter)
    nz = sample_nuisance(styles[s.cam - 1], difficulty, render.height, render.width, r)
    view = "front" if s.towards else "back"
    phase0, step_hz = float(r.uniform(0, 2 * math.pi)), float(r.uniform(1.6, 2.0))
    base = nz.placement
    near = cfg.truncation_range_m
    for k, (t, dist, ang) in enumerate(zip(s.frame_times, s.distances, s.angles)):
        close = max(0.0, (near - dist) / near) if near > 0 else 0.0
        pl = Placement(base.dx + 0.2 * ang / (cfg.fov_deg / 2), min(base.dy, 0.0) if close else base.dy,
                       base.scale * (1.0 + 0.9 * close))
        img, _ = render_frame(ident, view, phase0 + 2 * math.pi * step_hz * (t - s.entry),
                              replace(nz, placement=pl), k, r)
        yield int(round(t * VIDEO_FPS)), img


def write_egoreid(root: str | os.PathLike, world: EgoWorldConfig = EgoWorldConfig(),
                  render: RenderConfig = RenderConfig(), difficulty: Difficulty = Difficulty(),
                  seed: int = 0) -> dict:
    """Simulate the world and write it in the EgoReID layout into ``root`` (atomically).

    Returns counts: identities, tracklets and frames per split, tracklets per camera.
    """
    w = simulate_world(world, seed)
    sightings = find_sightings(w)
    if len(sightings) > 9999:
        raise ValueError("at most 9999 tracklets (4-digit tracklet ids)")
    splits = assign_splits(sightings, world.test_fraction, seed)
    styles = [sample_camera_style(c, difficulty, _rng(seed, _EGO, _S_STYLE, c))
              for c in range(1, world.num_cameras + 1)]
    identities: dict = {}
    counts: dict = {sp: {"identities": 0, "tracklets": 0, "frames": 0} for sp in ("train", "query", "gallery")}
    rows = ["id,pid,camera,entry_time,exit_time,direction,split"]
    with atomic_directory(root) as tmp:
        (tmp / "sensors").mkdir()
        for c in range(world.num_cameras):
            (tmp / "sensors" / f"cam{c + 1}.csv").write_text(format_sensor_csv(sensor_log(w, c, seed)))
        for tid, (s, split) in enumerate(zip(sightings, splits), start=1):
            d = tmp / split / _pid_str(s.pid) / f"{tid:04d}"
            d.mkdir(parents=True)
            for frame, img in _tracklet_images(s, world, render, difficulty, seed, styles, identities):
                _save_jpg(img, d / f"{_pid_str(s.pid)}_C{s.cam}_F{frame:06d}_X0.jpg", render)
                counts[split]["frames"] += 1
            counts[split]["tracklets"] += 1
            rows.append(f"{tid},{s.pid},{s.cam},{s.entry:.2f},{s.exit:.2f},"
                        f"{'towards' if s.towards else 'away'},{split}")
        (tmp / "tracklets.csv").write_text("\n".join(rows) + "\n")
    for split in counts:
        counts[split]["identities"] = len({s.pid for s, sp in zip(sightings, splits) if sp == split})
    counts["tracklets_per_camera"] = {f"cam{c}": sum(1 for s in sightings if s.cam == c)
                                      for c in range(1, world.num_cameras + 1)}
    return counts
