"""The per-epoch progress line prints only what the epoch measured."""

from vreid.progress import epoch_line


def test_epoch_line_prints_accuracy_only_when_measured():
    base = {"loss_total": 1.23456, "lr": 1e-3}
    assert epoch_line(2, 10, base) == "epoch 3/10  loss 1.235  lr 1.00e-03"  # parsing: no acc nan
    assert epoch_line(0, 1, {**base, "accuracy": 0.5}) == (
        "epoch 1/1  loss 1.235  acc 0.500  lr 1.00e-03")
    assert "acc" not in epoch_line(0, 1, {**base, "accuracy": float("nan")})
    assert "pixel acc 0.900" in epoch_line(0, 1, {**base, "pixel_acc": 0.9})
