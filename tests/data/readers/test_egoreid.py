import numpy as np
import pytest

from vreid.data.index import DatasetFormatError
from vreid.data.readers import read_dataset
from vreid.data.sensors import SENSOR_COLUMNS


def test_reads_tracklets_and_metadata(make_egoreid):
    index = read_dataset("egoreid", make_egoreid())
    assert index.name == "egoreid"
    assert [(t.pid, t.camid, len(t.frames)) for t in index.train] == [(1, 0, 3), (1, 1, 2)]
    assert [(t.pid, t.camid) for t in index.query] == [(3, 0)]
    assert sorted((t.pid, t.camid) for t in index.gallery) == [(3, 2), (4, 1)]
    g = next(t for t in index.gallery if t.pid == 3)
    assert g.meta == {"tracklet": "0004", "camera": 3, "entry_time": 8.0, "exit_time": 9.5,
                      "direction": "towards"}
    assert [f[-11:] for f in g.frames] == ["F000240_X0.jpg"[-11:], "F000270_X0.jpg"[-11:],
                                            "F000285_X0.jpg"[-11:]]  # temporal order
    sensors = index.metadata["sensors"]
    assert sorted(sensors) == [0, 1, 2]
    assert set(sensors[0]) == set(SENSOR_COLUMNS)
    np.testing.assert_allclose(sensors[1]["time_s"][:3], [0.0, 0.5, 1.0])


def _rewrite_table(root, fn):
    path = root / "tracklets.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(fn(lines)) + "\n")


@pytest.mark.parametrize("breakage,match", [
    (lambda r: (r / "tracklets.csv").unlink(), "tracklets.csv"),
    (lambda r: _rewrite_table(r, lambda ls: ls[:-1]), "0005.*no row"),
    (lambda r: _rewrite_table(r, lambda ls: ls + ["9,9,1,0,1,away,train"]), "without a folder"),
    (lambda r: _rewrite_table(r, lambda ls: [ls[0]] + [ls[1].replace(",1,0.0", ",2,0.0")] + ls[2:]),
     "disagrees"),
    (lambda r: _rewrite_table(r, lambda ls: [ls[0]] + [ls[1].replace("towards", "left")] + ls[2:]),
     "line 2.*direction"),
    (lambda r: _rewrite_table(r, lambda ls: [ls[0].replace("exit_time", "exit")] + ls[1:]),
     "lacks column"),
    (lambda r: (r / "sensors" / "cam3.csv").unlink(), "cam3.csv"),
    (lambda r: (r / "sensors" / "cam2.csv").write_text("time_s,latitude_deg\n0,1\n"),
     "cam2.csv.*lacks column"),
])
def test_broken_copy_names_the_file(make_egoreid, breakage, match):
    root = make_egoreid()
    breakage(root)
    with pytest.raises(DatasetFormatError, match=match):
        read_dataset("egoreid", root)


def test_sensor_log_time_must_increase(make_egoreid):
    root = make_egoreid()
    path = root / "sensors" / "cam1.csv"
    lines = path.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetFormatError, match="cam1.csv.*strictly increasing"):
        read_dataset("egoreid", root)


def test_missing_sample_reads_as_nan(make_egoreid):
    root = make_egoreid()
    path = root / "sensors" / "cam1.csv"
    lines = path.read_text().splitlines()
    fields = lines[4].split(",")
    fields[SENSOR_COLUMNS.index("latitude_deg")] = ""
    lines[4] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    lat = read_dataset("egoreid", root).metadata["sensors"][0]["latitude_deg"]
    assert np.isnan(lat[3]) and np.isfinite(np.delete(lat, 3)).all()
