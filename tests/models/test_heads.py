"""BNNeck placement: the default (bag of tricks) and paper 001's BN before both (sec. III-B)."""

import pytest
import torch

from vreid.models import build_model
from vreid.models.heads import BNNeck


def test_default_metric_feature_is_before_bn():
    torch.manual_seed(0)
    head = BNNeck(16, 5).train()
    x = torch.randn(4, 16)
    out = head(x)
    assert torch.equal(out["features"], x)
    torch.testing.assert_close(out["logits"], head.classifier(out["embedding"]))
    assert head.classifier.bias is None
    assert head.classifier.weight.std() < 0.01  # N(0, 0.001^2)


def test_before_both_metric_feature_is_the_bn_output_and_classifier_has_no_bias():
    torch.manual_seed(0)
    head = BNNeck(16, 5, neck="before_both").train()
    x = torch.randn(4, 16)
    out = head(x)
    assert out["features"] is out["embedding"]
    torch.testing.assert_close(out["features"], torch.nn.functional.batch_norm(
        x, None, None, head.bn.weight, head.bn.bias, training=True))
    torch.testing.assert_close(out["logits"], out["features"] @ head.classifier.weight.t())
    assert head.classifier.bias is None and not head.bn.bias.requires_grad
    assert 0.1 < head.classifier.weight.std() < 1.0  # Kaiming: sqrt(2 / 16) ~ 0.35
    assert set(head.eval()(x)) == {"embedding"}


def test_neck_is_a_model_kwarg_of_the_baseline_family_and_defaults_to_bnneck():
    for name in ("resnet_tap", "resnet_tmp", "video_cnn"):
        assert build_model(name, num_classes=3).head.neck == "bnneck"
        assert build_model(name, num_classes=3, neck="before_both").head.neck == "before_both"
    with pytest.raises(ValueError, match="neck must be one of"):
        BNNeck(4, 2, neck="after")
