"""The 12 phone sensor streams of an EgoReID camera log (paper 000, sec. 3.1) as CSV.

One file per camera (``sensors/cam<k>.csv``), one row per sample at a fixed rate, the
columns of ``SENSOR_STREAMS`` in order (a vector stream has one column per axis).
Device axes: x right, y up (phone upright, portrait), z out of the screen towards the
holder; the camera looks along -z, i.e. along the holder's heading.
The writer (``vreid.data.synth.egocentric``) and the reader (``egoreid``) share this file.
"""

from __future__ import annotations

import csv
import io
import math
import os

import numpy as np

from vreid.data.index import DatasetFormatError

__all__ = ["SENSOR_STREAMS", "SENSOR_COLUMNS", "format_sensor_csv", "parse_sensor_csv",
           "read_sensor_csv"]

#: stream -> its columns (units in the names): longitude, latitude, speed, distance, time,
#: accelerometer, heading, gyroscope, magnetic field, gravity, orientation, rotation vector
SENSOR_STREAMS: dict[str, tuple[str, ...]] = {
    "time": ("time_s",),
    "latitude": ("latitude_deg",),
    "longitude": ("longitude_deg",),
    "speed": ("speed_mps",),
    "distance": ("distance_m",),
    "heading": ("heading_deg",),
    "accelerometer": ("accel_x_mps2", "accel_y_mps2", "accel_z_mps2"),
    "gyroscope": ("gyro_x_radps", "gyro_y_radps", "gyro_z_radps"),
    "magnetic": ("magnetic_x_ut", "magnetic_y_ut", "magnetic_z_ut"),
    "gravity": ("gravity_x_mps2", "gravity_y_mps2", "gravity_z_mps2"),
    "orientation": ("azimuth_deg", "pitch_deg", "roll_deg"),
    "rotation_vector": ("rotation_x", "rotation_y", "rotation_z", "rotation_w"),
}
SENSOR_COLUMNS: tuple[str, ...] = tuple(c for cols in SENSOR_STREAMS.values() for c in cols)


def format_sensor_csv(columns: dict[str, np.ndarray]) -> str:
    """CSV text of one camera log; ``columns`` maps every name of SENSOR_COLUMNS to a 1-D array.

    NaN (a missing sample) is written as an empty field.
    """
    missing = [c for c in SENSOR_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"sensor log lacks column(s) {missing}")
    data = np.column_stack([np.asarray(columns[c], float) for c in SENSOR_COLUMNS])
    out = io.StringIO()
    out.write(",".join(SENSOR_COLUMNS) + "\n")
    for row in data:
        out.write(",".join("" if math.isnan(v) else f"{v:.9g}" for v in row) + "\n")
    return out.getvalue()


def read_sensor_csv(path: str) -> dict[str, np.ndarray]:
    """Columns of a camera log as float arrays (empty field -> NaN); times must increase."""
    cols = parse_sensor_csv(path)
    t = cols["time_s"]
    if not np.isfinite(t).all() or (np.diff(t) <= 0).any():
        raise DatasetFormatError(f"sensor log {os.fspath(path)!r}: time_s must be present and "
                                 "strictly increasing")
    return cols


def parse_sensor_csv(path: str) -> dict[str, np.ndarray]:
    """Columns of a camera log as float arrays (empty field -> NaN), values unchecked (the
    validation gate checks them, naming the file and line)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise DatasetFormatError(f"missing sensor log: file {path!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetFormatError(f"cannot read sensor log {path!r}: {exc}") from exc
    if not rows:
        raise DatasetFormatError(f"sensor log {path!r} is empty")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in SENSOR_COLUMNS if c not in header]
    if missing:
        raise DatasetFormatError(f"sensor log {path!r} lacks column(s) {missing}")
    pos = [header.index(c) for c in SENSOR_COLUMNS]
    data = np.empty((len(rows) - 1, len(pos)))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DatasetFormatError(f"sensor log {path!r} line {i}: {len(row)} fields, "
                                     f"header has {len(header)}")
        try:
            data[i - 2] = [float(row[p]) if row[p].strip() else math.nan for p in pos]
        except ValueError as exc:
            raise DatasetFormatError(f"sensor log {path!r} line {i}: {exc}") from None
    if data.shape[0] == 0:
        raise DatasetFormatError(f"sensor log {path!r} has no samples")
    return {c: data[:, k] for k, c in enumerate(SENSOR_COLUMNS)}
