import json
from pathlib import Path

import numpy as np
import pytest

from vreid.config import InputConfig, ModelConfig, load_params
from vreid.data import read_dataset
from vreid.eval.metadata import MetadataError
from vreid.models import build_model
from vreid.pipeline.common import save_model
from vreid.pipeline.evaluate_metadata import evaluate_metadata, format_table


@pytest.fixture
def tiny_model(tmp_path):
    path = tmp_path / "model.pt"
    save_model(path, build_model("resnet_tap", num_classes=4, depth=18),
               ModelConfig("resnet_tap", {"depth": 18}), 4, InputConfig(32, 16, 2))
    return path


def test_writes_metrics_with_and_without_metadata(in_prepared, tiny_model, tmp_path):
    p = load_params("params.yaml")
    out = evaluate_metadata(p, tiny_model, tmp_path / "reports")
    m = json.loads((tmp_path / "reports" / "metadata_metrics.json").read_text())
    assert m == pytest.approx(out.metrics)
    timing = json.loads((tmp_path / "reports" / "timing" / "evaluate_metadata.json").read_text())
    assert timing == pytest.approx(out.timing)
    assert timing["tracklets"] == m["num_query"] + m["num_gallery"]
    assert timing["frames"] >= timing["tracklets"] and timing["wall_s"] >= timing["timed_s"] > 0
    for key in ("rank1", "mAP", "metadata_rank1", "metadata_mAP", "gallery_kept_fraction",
                "next_camera_accuracy", "true_next_kept"):
        assert 0.0 <= m[key] <= 1.0, key
    index = read_dataset("egoreid", "data/synthetic/egoreid")
    assert m["num_query"] == len(index.query) and m["num_gallery"] == len(index.gallery)
    # eq. 2 keeps one camera's late tracklets per pruned query: the gallery must shrink
    assert m["gallery_shrink"] == pytest.approx(1 - m["gallery_kept_fraction"]) and \
        m["gallery_shrink"] > 0.3
    assert m["skipped_missing_sensors"] == 0
    assert "+ Metadata" in format_table(m, "resnet_tap")


def _blank_latitude(path: Path) -> None:
    lines = path.read_text().splitlines()
    col = lines[0].split(",").index("latitude_deg")
    rows = [line.split(",") for line in lines[1:]]
    for r in rows:
        r[col] = ""
    path.write_text("\n".join([lines[0]] + [",".join(r) for r in rows]) + "\n")


def test_missing_sensor_data_errors_or_is_skipped_and_counted(prepared, tiny_model, tmp_path,
                                                              monkeypatch):
    import shutil

    work = tmp_path / "work"
    shutil.copytree(prepared / "data" / "synthetic" / "egoreid", work / "data/synthetic/egoreid")
    shutil.copy(prepared / "params.yaml", work / "params.yaml")
    monkeypatch.chdir(work)
    _blank_latitude(work / "data/synthetic/egoreid/sensors/cam2.csv")
    p = load_params("params.yaml")
    with pytest.raises(MetadataError, match="camid 1: NaN.*cam<k\\+1>.csv"):
        evaluate_metadata(p, tiny_model, tmp_path / "reports")
    assert not (tmp_path / "reports" / "metadata_metrics.json").exists()
    import dataclasses

    p = dataclasses.replace(p, metadata=dataclasses.replace(p.metadata, on_missing="skip"))
    m = evaluate_metadata(p, tiny_model, tmp_path / "reports").metrics
    assert m["skipped_missing_sensors"] == m["num_query"]  # every query needs camera 2's log
    assert m["gallery_shrink"] == 0.0
    assert (m["metadata_rank1"], m["metadata_mAP"]) == (m["rank1"], m["mAP"])
    assert np.isfinite(m["rank1"])
