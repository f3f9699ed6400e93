"""Table-1 style counts (`vreid stats`) of a re-ID index and of a parsing set."""

from vreid.data.index import ParsingIndex, ParsingSample, ReIDIndex, Tracklet
from vreid.data.statistics import dataset_statistics, format_statistics


def _t(pid, cam, n=2):
    return Tracklet(frames=tuple(f"f{i}.jpg" for i in range(n)), pid=pid, camid=cam)


def test_reid_counts_identities_cameras_boxes_and_shared_ids():
    index = ReIDIndex("x", "/x", train=[_t(1, 0), _t(1, 1, 3)], query=[_t(2, 0)],
                      gallery=[_t(2, 1), _t(0, 1), _t(3, 1)])  # pid 0: a distractor
    stats = dataset_statistics(index)
    assert (stats["identities"], stats["tracklets"], stats["cameras"]) == (3, 6, 2)
    assert stats["bounding_boxes"] == 13
    assert stats["split_tracklets"] == {"train": 2, "query": 1, "gallery": 3}
    assert stats["identities_per_camera"] == {"cam1": 2, "cam2": 3}
    assert stats["shared_identities"] == {"cam1&cam2": 2}
    assert "| Number of IDs | 3 |" in format_statistics("x", stats)


def test_parsing_set_counts_its_images_per_split():
    """`vreid stats --dataset parsing` raised AttributeError (issue 15 item 9)."""
    pair = ParsingSample("a.jpg", "a.png")
    stats = dataset_statistics(ParsingIndex("lip", "/lip", train=[pair] * 3, val=[pair]))
    assert stats == {"images": 4, "split_images": {"train": 3, "val": 1}}
    assert "Split images | train 3, val 1" in format_statistics("lip", stats)
