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


# ------------------------------------------------------ invariants (issue 15, item 1)


def _set_line(lines, k, line):
    return lines[:k] + [line] + lines[k + 1:]


@pytest.mark.parametrize("edit,match", [
    # the id column: repeated, not an integer, negative
    (lambda ls: ls + [ls[1]], r"line 7: duplicate tracklet id 1"),
    (lambda ls: _set_line(ls, 2, "x,1,2,5.0,6.0,away,train"), r"line 3: invalid literal"),
    (lambda ls: _set_line(ls, 2, "-2,1,2,5.0,6.0,away,train"), r"line 3: id -2 and pid 1 must be >= 0"),
    # pid and camera ranges
    (lambda ls: _set_line(ls, 2, "2,-1,2,5.0,6.0,away,train"), r"line 3: id 2 and pid -1 must be >= 0"),
    (lambda ls: _set_line(ls, 2, "2,1,0,5.0,6.0,away,train"), r"line 3: .*camera 0 >= 1"),
    (lambda ls: _set_line(ls, 2, "2,1,2.5,5.0,6.0,away,train"), r"line 3: invalid literal"),
    # times
    (lambda ls: _set_line(ls, 2, "2,1,2,6.0,5.0,away,train"), r"line 3: entry_time 6\.0 / exit_time 5\.0"),
    (lambda ls: _set_line(ls, 2, "2,1,2,nan,5.0,away,train"), r"line 3: entry_time nan"),
    # split
    (lambda ls: _set_line(ls, 2, "2,1,2,5.0,6.0,away,test"), r"line 3: .*split one of"),
    # fields and header
    (lambda ls: _set_line(ls, 2, "2,1,2,5.0,6.0,away,train,extra"), r"line 3: 8 fields, but the header has 7"),
    (lambda ls: _set_line(ls, 2, "2,1,2,5.0"), r"line 3: "),
    (lambda ls: [ls[0] + ",pid"] + [line + ",1" for line in ls[1:]], r"header field 8: column 'pid' repeats header field 2"),
])
def test_malformed_table_line_is_an_error_naming_the_line(make_egoreid, edit, match):
    root = make_egoreid()
    _rewrite_table(root, edit)
    with pytest.raises(DatasetFormatError, match=r"tracklets\.csv'? ?.*" + match):
        read_dataset("egoreid", root)


def test_row_split_disagreeing_with_the_folder_is_an_error(make_egoreid):
    root = make_egoreid()
    _rewrite_table(root, lambda ls: _set_line(ls, 3, ls[3].replace(",query", ",gallery")))
    with pytest.raises(DatasetFormatError, match=r"query.0003.0003'? \(pid 3, camera 1, query\) disagrees"):
        read_dataset("egoreid", root)


def test_tracklet_folders_follow_the_duke_invariants_without_a_camera_bound(make_egoreid, image_writer):
    root = make_egoreid()
    image_writer(root / "query" / "0003" / "0003" / "0003_C1_F000030_X1.jpg")  # F30 twice
    with pytest.raises(DatasetFormatError, match=r"0003'?: frames .* same frame number F30"):
        read_dataset("egoreid", root)
    (root / "query" / "0003" / "0003" / "0003_C1_F000030_X1.jpg").unlink()
    # a camera above Duke's C8 is fine for EgoReID (its table and sensor logs say which exist)
    import shutil

    shutil.move(root / "gallery" / "0004" / "0005", root / "gallery" / "0004" / "0006")
    for f in (root / "gallery" / "0004" / "0006").iterdir():
        f.rename(f.with_name(f.name.replace("_C2_", "_C12_")))
    _rewrite_table(root, lambda ls: [line for line in ls if not line.startswith("5,")]
                   + ["6,4,12,2.0,3.0,towards,gallery"])
    (root / "sensors" / "cam12.csv").write_text((root / "sensors" / "cam2.csv").read_text())
    index = read_dataset("egoreid", root)
    assert 11 in index.metadata["sensors"] and {t.camid for t in index.gallery} >= {11}
