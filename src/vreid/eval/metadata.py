"""Sensor-metadata search pruning (paper 000, section 5): next camera and time of arrival.

The phones' GPS (latitude, longitude), heading and speed predict which camera a target
leaving camera i will appear in next, and when; gallery tracklets that violate the
prediction are dropped from the query's search (eq. 2). This module imports numpy only.

Conventions: angles in degrees (headings clockwise from north, in [0, 360)), distances
in metres, speeds in m/s, times in seconds.

- ``bearing`` is the paper's F(GPS1, GPS2) = atan2(X, Y), the initial great-circle
  bearing of GPS2 seen from GPS1.
- Target heading: the camera's heading at the exit time when the target walks away from
  it, +180 when it walks towards it.
- Next camera: among the other cameras whose bearing from the current camera is within
  ``tolerance_deg`` of the target heading, the closest by great-circle distance (the
  target's position is approximated by the current camera's GPS, as in the paper).
  No such camera: no prediction, and the query is not pruned (counted).
- Arrival (eq. 1): distance / |V - Cv| if the target and the next camera share a heading
  (within ``tolerance_deg``), distance / |V + Cv| otherwise. Zero relative speed: the
  distance never closes, the arrival time is +inf (nothing of that camera is kept),
  except at zero distance where it is 0. ``range_m`` is subtracted from the distance
  first (a phone sees a person before reaching it, and a walking-away target leaves
  camera i's view ahead of camera i): 0 is the paper's formula.
- Pruning (eq. 2): keep gallery tracklets of the predicted camera whose entry time is
  at or after exit + arrival - ``slack_s``. The evaluation treats a pruned true match as
  never retrieved (see ``vreid.eval.rank.evaluate_rank``'s ``gallery_mask``).
- Missing sensor data (a camera without a log, a time outside its log, NaN samples or a
  gap longer than ``max_gap_s`` between the two samples around the time, i.e. logs not
  synchronised with the video): ``MetadataError`` naming the camera and time, or with
  ``on_missing="skip"`` no pruning for that query, counted in ``PruneResult``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "EARTH_RADIUS_M",
    "MetadataError",
    "SensorTrack",
    "CameraState",
    "PruneResult",
    "bearing",
    "distance_m",
    "angle_diff",
    "target_heading",
    "next_camera",
    "time_of_arrival",
    "prune_gallery",
]

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
DEFAULT_TARGET_SPEED = 1.3  # m/s, average walking speed (paper 000, sec. 5)


class MetadataError(ValueError):
    """Sensor metadata needed for a prediction is missing, NaN or not synchronised."""


def bearing(lat1, lon1, lat2, lon2):
    """F(GPS1, GPS2) of paper 000 sec. 5: direction of GPS2 from GPS1, degrees in [0, 360).

    X = sin(lon2 - lon1) cos(lat2), Y = cos(lat1) sin(lat2) - sin(lat1) cos(lat2) cos(lon2 - lon1),
    F = atan2(X, Y). Inputs in degrees; numpy broadcasting applies.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    x = np.sin(dl) * np.cos(p2)
    y = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    out = np.degrees(np.arctan2(x, y)) % 360.0
    out = np.where(out >= 360.0, 0.0, out)  # -tiny % 360 rounds to 360.0
    return float(out) if np.ndim(out) == 0 else out


def distance_m(lat1, lon1, lat2, lon2):
    """Great-circle (haversine) distance in metres between two GPS points (degrees)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(out) if np.ndim(out) == 0 else out


def angle_diff(a, b):
    """Absolute difference of two headings in degrees, in [0, 180]."""
    d = np.abs((np.asarray(a, float) - np.asarray(b, float) + 180.0) % 360.0 - 180.0)
    return float(d) if np.ndim(d) == 0 else d


def target_heading(camera_heading: float, towards: bool) -> float:
    """Target heading: the camera's heading (walking away) or its opposite (towards)."""
    return float((camera_heading + (180.0 if towards else 0.0)) % 360.0)


def next_camera(lat: float, lon: float, heading: float, cam_lats: Sequence[float],
                cam_lons: Sequence[float], tolerance_deg: float = 45.0,
                exclude: int | None = None) -> int | None:
    """Index of the closest camera lying in direction ``heading`` (within ``tolerance_deg``)
    from (lat, lon); ``exclude`` (the current camera) is never chosen. None: no candidate."""
    lats, lons = np.asarray(cam_lats, float), np.asarray(cam_lons, float)
    cand = angle_diff(np.atleast_1d(bearing(lat, lon, lats, lons)), heading) <= tolerance_deg
    if exclude is not None:
        cand[exclude] = False
    if not cand.any():
        return None
    dist = np.atleast_1d(distance_m(lat, lon, lats, lons))
    return int(np.flatnonzero(cand)[np.argmin(dist[cand])])


def time_of_arrival(distance_m: float, target_speed: float = DEFAULT_TARGET_SPEED,
                    camera_speed: float = 0.0, same_heading: bool = True) -> float:
    """Eq. 1: distance / |V - Cv| (same heading) or / |V + Cv| (otherwise), in seconds.

    Zero relative speed never closes a positive distance: +inf (0 at zero distance).
    """
    if distance_m < 0 or not math.isfinite(distance_m):
        raise ValueError(f"distance_m must be finite and >= 0, got {distance_m}")
    rel = abs(target_speed - camera_speed) if same_heading else abs(target_speed + camera_speed)
    if distance_m == 0:
        return 0.0
    if rel == 0:
        return math.inf
    return float(distance_m / rel)


@dataclass(frozen=True)
class CameraState:
    lat: float
    lon: float
    heading: float
    speed: float


@dataclass(frozen=True)
class SensorTrack:
    """One camera's GPS / heading / speed log (the part of the 12 streams eq. 1 uses)."""

    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    heading: np.ndarray
    speed: np.ndarray

    @classmethod
    def from_columns(cls, cols) -> "SensorTrack":
        """From a camera log's columns (names of vreid.data.sensors, as the egoreid reader
        returns them)."""
        return cls(*(np.asarray(cols[c], float) for c in
                     ("time_s", "latitude_deg", "longitude_deg", "heading_deg", "speed_mps")))

    def state_at(self, t: float, max_gap_s: float = 1.0, name: str = "camera") -> CameraState:
        """The state at time ``t``, interpolated between the two samples around it.

        Raises MetadataError if ``t`` is outside the log, a neighbouring sample is NaN,
        or the two samples are more than ``max_gap_s`` apart (unsynchronised log).
        """
        time = self.time
        if time.size == 0 or not math.isfinite(t) or t < time[0] or t > time[-1]:
            span = f"[{time[0]:.2f}, {time[-1]:.2f}]" if time.size else "empty"
            raise MetadataError(f"{name}: no sensor sample at t={t:.2f}s (log covers {span})")
        hi = int(np.searchsorted(time, t, side="left"))
        lo = max(hi - 1, 0) if time[hi] > t else hi
        if time[hi] - time[lo] > max_gap_s:
            raise MetadataError(f"{name}: sensor log not synchronised at t={t:.2f}s "
                                f"(samples {time[lo]:.2f}s and {time[hi]:.2f}s, "
                                f"max gap {max_gap_s}s)")
        cols = (self.lat, self.lon, self.heading, self.speed)
        vals = [(c[lo], c[hi]) for c in cols]
        if not all(np.isfinite(v).all() for v in vals):
            raise MetadataError(f"{name}: NaN / missing sensor sample near t={t:.2f}s")
        w = 0.0 if hi == lo else (t - time[lo]) / (time[hi] - time[lo])
        (la0, la1), (lo0, lo1), (h0, h1), (s0, s1) = vals
        dh = (h1 - h0 + 180.0) % 360.0 - 180.0  # shortest way round
        return CameraState(float(la0 + w * (la1 - la0)), float(lo0 + w * (lo1 - lo0)),
                           float((h0 + w * dh) % 360.0), float(s0 + w * (s1 - s0)))


@dataclass
class PruneResult:
    mask: np.ndarray  # [num_query, num_gallery] bool, True = kept
    next_camera: np.ndarray  # [num_query] predicted camera id, -1: no prediction
    arrival: np.ndarray  # [num_query] estimated absolute arrival time (exit + eq. 1), NaN: none
    skipped_missing: int  # queries not pruned because their sensor data was missing
    skipped_no_candidate: int  # queries not pruned because no camera lies ahead

    @property
    def kept_fraction(self) -> float:
        return float(self.mask.mean()) if self.mask.size else 1.0


def prune_gallery(q_camids, q_exit, q_towards, g_camids, g_entry,
                  tracks: Mapping[int, SensorTrack], *,
                  target_speed: float = DEFAULT_TARGET_SPEED, tolerance_deg: float = 45.0,
                  range_m: float = 0.0, slack_s: float = 0.0, max_gap_s: float = 1.0,
                  on_missing: str = "error") -> PruneResult:
    """Eq. 2 as a boolean gallery mask: per query, only the predicted next camera's
    tracklets entering at or after the estimated arrival are kept.

    ``tracks`` maps camid -> SensorTrack of every camera; ``on_missing`` is "error"
    (raise MetadataError) or "skip" (keep the whole gallery of that query, counted).
    """
    if on_missing not in ("error", "skip"):
        raise ValueError(f"on_missing must be 'error' or 'skip', got {on_missing!r}")
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    q_exit, g_entry = np.asarray(q_exit, float), np.asarray(g_entry, float)
    q_towards = np.asarray(q_towards, bool)
    nq, ng = len(q_camids), len(g_camids)
    mask = np.ones((nq, ng), bool)
    nxt = np.full(nq, -1, np.int64)
    arrival = np.full(nq, np.nan)
    cams = sorted(tracks)
    missing = no_cand = 0
    for i in range(nq):
        try:
            if int(q_camids[i]) not in tracks:
                raise MetadataError(f"camid {int(q_camids[i])}: no sensor log")
            t = float(q_exit[i])
            states = [tracks[c].state_at(t, max_gap_s, f"camid {c}") for c in cams]
        except MetadataError:
            if on_missing == "error":
                raise
            missing += 1
            continue
        cur = states[cams.index(int(q_camids[i]))]
        heading = target_heading(cur.heading, bool(q_towards[i]))
        k = next_camera(cur.lat, cur.lon, heading, [s.lat for s in states], [s.lon for s in states],
                        tolerance_deg, exclude=cams.index(int(q_camids[i])))
        if k is None:
            no_cand += 1
            continue
        nj = states[k]
        dist = max(0.0, distance_m(cur.lat, cur.lon, nj.lat, nj.lon) - range_m)
        same = angle_diff(heading, nj.heading) <= tolerance_deg
        eta = t + time_of_arrival(dist, target_speed, nj.speed, same)  # eq. 1
        nxt[i], arrival[i] = cams[k], eta
        mask[i] = (g_camids == cams[k]) & (g_entry >= eta - slack_s)  # eq. 2
    return PruneResult(mask, nxt, arrival, missing, no_cand)
