import json

import torch

from vreid.config import load_params
from vreid.pipeline.common import load_model
from vreid.pipeline.evaluate import evaluate
from vreid.pipeline.train import run_fingerprint, train_video


def test_train_then_evaluate_writes_model_and_metrics(in_prepared, tmp_path):
    params = load_params("params.yaml")
    out = train_video(params, tmp_path / "model", tmp_path / "ckpt")
    assert out.model_path.is_file() and out.epochs_run == 2
    model, saved = load_model(out.model_path)
    assert saved["input"]["clip_len"] == 2
    assert model.eval()(torch.zeros(1, 2, 3, 32, 16)).shape == (1, 512)
    ev = evaluate(params, out.model_path, tmp_path / "reports")
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    for key in ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP", "untrained_rank1",
                "rr_rank1", "rr_rank5", "rr_rank10", "rr_rank20", "rr_mAP", "rr_mINP"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["rank1"] <= metrics["rank5"] <= metrics["rank10"] <= metrics["rank20"]
    rows = (tmp_path / "reports" / "cmc.csv").read_text().splitlines()
    assert rows[0] == "rank,cmc,untrained_cmc" and len(rows) == 1 + len(ev.cmc)

    # Run again with the same settings: everything resumes from the last checkpoint.
    again = train_video(params, tmp_path / "model", tmp_path / "ckpt")
    assert again.epochs_run == 0 and again.resumed_from_epoch == 2


def test_fingerprint_ignores_threads_but_not_lr(in_prepared):
    import dataclasses

    p = load_params("params.yaml")
    threads = dataclasses.replace(p, train=dataclasses.replace(p.train, threads=7))
    lr = dataclasses.replace(p, train=dataclasses.replace(p.train, lr=0.5))
    assert run_fingerprint(p) == run_fingerprint(threads) != run_fingerprint(lr)
