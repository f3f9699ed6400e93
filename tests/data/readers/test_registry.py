import pytest

from vreid.data.readers import DATASETS, read_dataset


def test_all_readers_registered():
    assert DATASETS.names() == sorted(
        ["mars", "duke-video", "ilids-vid", "prid2011", "market1501", "lip", "egoreid", "union"]
    )


def test_unknown_name_lists_known_names():
    with pytest.raises(KeyError) as info:
        read_dataset("marz", "/nowhere")
    message = str(info.value)
    assert "marz" in message
    for name in ("mars", "duke-video", "ilids-vid", "prid2011", "market1501", "lip", "union"):
        assert name in message


def test_missing_root_is_format_error(tmp_path):
    from vreid.data.index import DatasetFormatError

    for name in ("mars", "duke-video", "ilids-vid", "prid2011", "market1501", "lip", "egoreid"):
        with pytest.raises(DatasetFormatError, match="absent"):
            read_dataset(name, tmp_path / "absent")
