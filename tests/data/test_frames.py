"""eval.frames: which frames of a test tracklet are scored ("all" | "evenly:N")."""

import pytest

from vreid.data.frames import evenly_count, evenly_spaced, scored_frames


def test_longer_tracklets_are_spread_evenly_from_the_first_frame():
    assert evenly_spaced(8, 4) == [0, 2, 4, 6]
    assert evenly_spaced(10, 4) == [0, 2, 5, 7]  # floor(i * 10 / 4)
    assert evenly_spaced(7, 3) == [0, 2, 4]
    picks = evenly_spaced(100, 6)
    assert len(set(picks)) == 6 and picks == sorted(picks) and picks[-1] < 100


def test_equal_length_takes_every_frame_once():
    assert evenly_spaced(4, 4) == [0, 1, 2, 3]
    assert evenly_spaced(1, 1) == [0]


def test_shorter_tracklets_give_every_frame_then_the_last_repeated():
    assert evenly_spaced(2, 5) == [0, 1, 1, 1, 1]
    assert evenly_spaced(1, 3) == [0, 0, 0]
    with pytest.raises(ValueError, match="empty tracklet"):
        evenly_spaced(0, 3)


def test_all_scores_every_frame_and_evenly_n_exactly_n():
    assert scored_frames(5, "all") == [0, 1, 2, 3, 4]
    assert scored_frames(5, "evenly:2") == [0, 2]
    assert scored_frames(3, "evenly:4") == [0, 1, 2, 2]


@pytest.mark.parametrize("spec", ["some", "evenly:0", "evenly:", "evenly:-2", "evenly:04",
                                  "evenly:2.5", "ALL", "evenly 4"])
def test_a_bad_protocol_names_the_accepted_forms(spec):
    with pytest.raises(ValueError, match=r"eval.frames '.*': must be 'all' or 'evenly:N' with N >= 1"):
        evenly_count(spec)


def test_evenly_count():
    assert evenly_count("all") is None
    assert evenly_count("evenly:8") == 8
