from pathlib import Path

from vreid.data import read_dataset


def test_prepare_writes_all_layouts_read_by_the_real_readers(in_prepared):
    root = Path("data/synthetic")
    mars = read_dataset("mars", root / "mars")
    assert mars.num_train_pids == 6 and len(mars.query) == 6
    market = read_dataset("market1501", root / "market1501")
    assert market.num_train_pids == 4
    lip = read_dataset("lip", root / "lip")
    assert (len(lip.train), len(lip.val)) == (4, 2)
    ego = read_dataset("egoreid", root / "egoreid")
    assert ego.query and ego.gallery and sorted(ego.metadata["sensors"]) == [0, 1, 2]
