"""Dataset content digests: what the retraining flow and the flow cache compare."""

import pytest

from vreid.config import DatasetRef
from vreid.pipeline.fingerprint import dataset_digest, tree_digest


def make_tree(root):
    (root / "a").mkdir(parents=True)
    (root / "a/1.jpg").write_bytes(b"one")
    (root / "2.jpg").write_bytes(b"two")
    return root


def test_tree_digest_follows_content_names_and_additions_not_rewrites(tmp_path):
    root = make_tree(tmp_path / "set")
    digest = tree_digest(root)
    (root / "2.jpg").write_bytes(b"two")  # same bytes rewritten: same data
    assert tree_digest(root) == digest
    (root / "2.jpg").write_bytes(b"TWO")
    edited = tree_digest(root)
    assert edited != digest
    (root / "2.jpg").rename(root / "3.jpg")
    assert tree_digest(root) != edited
    (root / "a/new.jpg").write_bytes(b"new")
    assert len({digest, edited, tree_digest(root)}) == 3
    assert tree_digest(make_tree(tmp_path / "copy")) == digest  # location does not matter


def test_dataset_digest_covers_every_source_of_a_union(tmp_path):
    one, two = make_tree(tmp_path / "one"), make_tree(tmp_path / "two")
    union = DatasetRef("union", sources=(DatasetRef("market1501", str(one)),
                                         DatasetRef("market1501", str(two))))
    before = dataset_digest(union)
    assert before != dataset_digest(DatasetRef("market1501", str(one)))
    (two / "2.jpg").write_bytes(b"changed")
    assert dataset_digest(union) != before


def test_missing_dataset_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: dataset folder not found"):
        dataset_digest(DatasetRef("mars", str(tmp_path / "nowhere")))
