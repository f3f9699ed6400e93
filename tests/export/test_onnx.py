"""Every registered model exports to ONNX (dynamic batch) and matches ONNX Runtime."""

import onnx
import pytest
import torch

from vreid.export.onnx import export_onnx, onnx_opset, onnx_parity, ort_session
from vreid.models import build_model

CLIP = (3, 3, 32, 16)  # T, C, H, W
IMAGE = (3, 32, 16)  # per-frame models (the parser)


def test_every_registered_model_exports_with_parity(any_model_name, tiny_model_kwargs,
                                                    per_frame_models, tmp_path):
    torch.manual_seed(0)
    model = build_model(any_model_name, **tiny_model_kwargs[any_model_name],
                        **({} if any_model_name in per_frame_models else {"num_classes": 5}))
    shape = IMAGE if any_model_name in per_frame_models else CLIP
    path = export_onnx(model, shape, tmp_path / "model.onnx", opset=18, export_batch=2)
    assert onnx_opset(path) >= 18
    batch = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.HasField("dim_value")  # a dynamic axis
    diffs = onnx_parity(model, path, shape, batch_sizes=(1, 3))  # not the export batch (2)
    assert set(diffs) == {1, 3}
    assert max(diffs.values()) <= 1e-4, diffs


def test_parity_detects_a_different_model(small_onnx, clip_mean):
    model, path, shape = small_onnx
    assert max(onnx_parity(model, path, shape, (3,)).values()) <= 1e-5
    assert max(onnx_parity(clip_mean(), path, shape, (3,)).values()) > 1e-3  # other weights


def test_export_batch_below_two_is_refused(tmp_path, clip_mean):
    with pytest.raises(ValueError, match="export_batch"):
        export_onnx(clip_mean(), (2, 3, 8, 8), tmp_path / "m.onnx", export_batch=1)
    assert not (tmp_path / "m.onnx").exists()


def test_ort_session_refuses_unknown_level_and_missing_provider(small_onnx):
    _, path, _ = small_onnx
    with pytest.raises(ValueError, match="optimisation"):
        ort_session(path, optimization="max")
    with pytest.raises(RuntimeError, match="NoSuchExecutionProvider"):
        ort_session(path, providers=["NoSuchExecutionProvider"])
    assert ort_session(path, threads=1).get_inputs()[0].name == "clips"
