import pytest

from vreid.data.index import DatasetFormatError
from vreid.data.readers import read_attributes
from vreid.data.readers.attributes import ATTRIBUTES_FILE, format_attributes


def _write(tmp_path, text):
    (tmp_path / ATTRIBUTES_FILE).write_text(text)
    return tmp_path / ATTRIBUTES_FILE


def test_absent_file_is_none(make_mars):
    assert read_attributes(make_mars()) is None  # real MARS carries no attribute file


def test_reads_file(tmp_path):
    _write(tmp_path, "pid,hat,backpack\n3,1,0\n\n12,0,0\n 7 , 1 , 1 \n")
    attrs = read_attributes(tmp_path)
    assert attrs.names == ("hat", "backpack")
    assert dict(attrs.by_pid) == {3: {"hat"}, 12: set(), 7: {"hat", "backpack"}}
    assert attrs.has(3, "hat") is True and attrs.has(3, "backpack") is False
    assert attrs.has(99, "hat") is None  # not listed: unknown


def test_format_round_trips(tmp_path):
    text = format_attributes(("hat", "phone"), {5: {"hat": True, "phone": False},
                                                2: {"hat": False, "phone": True}})
    assert text == "pid,hat,phone\n2,0,1\n5,1,0\n"
    _write(tmp_path, text)
    assert dict(read_attributes(tmp_path).by_pid) == {2: {"phone"}, 5: {"hat"}}
    with pytest.raises(ValueError, match="'pid'"):
        format_attributes(("pid",), {})


@pytest.mark.parametrize("text,match", [
    ("", "is empty"),
    ("person,hat\n1,0\n", "line 1: the header must start with 'pid'"),
    ("pid,Hat\n1,0\n", "line 1: column 'Hat' is not a lower-case identifier"),
    ("pid,hat,hat\n1,0,0\n", r"line 1: column\(s\) \['hat'\] appear more than once"),
    ("pid,hat\n1,0\n2\n", "line 3: 1 fields, the header has 2"),
    ("pid,hat\nx1,0\n", "line 2: pid 'x1' is not an integer"),
    ("pid,hat,coat\n1,0,yes\n", "line 2: column 'coat' is 'yes', expected 0 or 1"),
    ("pid,hat\n1,0\n2,1\n1,1\n", "line 4: pid 1 is listed twice"),
])
def test_malformed_file_names_file_and_line(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(DatasetFormatError, match=match) as info:
        read_attributes(tmp_path)
    assert str(path) in str(info.value)


def test_undecodable_file_names_file(tmp_path):
    path = tmp_path / ATTRIBUTES_FILE
    path.write_bytes(b"pid,hat\n1,\xff\n")
    with pytest.raises(DatasetFormatError, match="cannot read attribute file") as info:
        read_attributes(tmp_path)
    assert str(path) in str(info.value)
