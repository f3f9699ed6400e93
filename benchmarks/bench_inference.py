"""Inference throughput / latency of the default model per backend (vreid.export.benchmark).

    python benchmarks/bench_inference.py                 # default EgoReID profile, all backends
    python benchmarks/bench_inference.py --quick         # batch 1 and 8, 2 iterations, no compile
    python benchmarks/bench_inference.py --ort-levels all,extended,basic,disable
    python benchmarks/bench_inference.py --model models/train_video/model.pt --device cuda

Without --model it builds the default profile's video model (params.yaml's model stage,
random weights: speed does not depend on them) and saves it with `save_model` in a temp
folder, so no pipeline run is needed. Every ratio is against torch eager measured in the
same run; warm-up calls (and torch.compile's compilation) are not timed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def default_model_file(params_path: Path, directory: Path) -> Path:
    """The default profile's video model (init-only kwargs dropped), saved as a model file."""
    import torch

    from vreid.config import load_params
    from vreid.models import build_model
    from vreid.pipeline.common import save_model
    from vreid.pipeline.stages import model_stage_config

    stage = model_stage_config(load_params(params_path))  # init_from files left out
    kwargs = stage.model.kwargs
    torch.manual_seed(0)
    model = build_model(stage.model.name, num_classes=100, **kwargs)
    path = directory / "model.pt"
    save_model(path, model, stage.model, 100, stage.input)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--model", type=Path, help="a vreid model file (default: the params' video model)")
    ap.add_argument("--batch-sizes", default="1,8,32")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=6)
    ap.add_argument("--backends", default="torch_eager,torch_compile,ort_cpu,ort_cuda,tensorrt")
    ap.add_argument("--threads", type=int, default=0, help="torch / ORT threads (0: defaults)")
    ap.add_argument("--ort-levels", default="", help="also time ORT CPU at these graph "
                    "optimisation levels, e.g. all,extended,basic,disable")
    ap.add_argument("--device", default="cpu", help="torch backends' device (cpu | cuda)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()

    import torch

    from vreid.export import benchmark_backends, describe_machine, format_table
    from vreid.export.onnx import export_onnx, onnx_parity
    from vreid.pipeline.export import load_for_inference

    if args.threads:
        torch.set_num_threads(args.threads)
    batch_sizes = (1, 8) if args.quick else tuple(int(b) for b in args.batch_sizes.split(","))
    iterations = 2 if args.quick else args.iterations
    backends = [b for b in args.backends.split(",") if not (args.quick and b == "torch_compile")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_path = args.model or default_model_file(args.params, tmp)
        graph, saved = load_for_inference(model_path)
        start = time.perf_counter()
        onnx_path = export_onnx(graph, tmp / "model.onnx")
        export_s = time.perf_counter() - start
        parity = onnx_parity(graph, onnx_path, (1, 3))
        print(f"model: {saved['model_name']} ({model_path}), clip "
              f"{list(graph.example_inputs[0].shape[1:])}, "
              f"{sum(p.numel() for p in graph.module.parameters()) / 1e6:.1f} M parameters")
        print(f"ONNX export {export_s:.1f} s, {os.path.getsize(onnx_path) / 2**20:.0f} MiB, "
              f"parity max |diff| {max(parity.values()):.2e} at batch 1 and 3")
        print("machine:", describe_machine())
        print(f"warm-up {args.warmup}, {iterations} timed calls per backend and batch size\n")
        result = benchmark_backends(graph, onnx_path, batch_sizes, backends, args.warmup,
                                    iterations, args.device, args.threads)
        for level in filter(None, args.ort_levels.split(",")):
            extra = benchmark_backends(graph, onnx_path, batch_sizes, ("ort_cpu",),
                                       args.warmup, iterations, args.device, args.threads, level)
            result.timings[f"ort_cpu[{level}]"] = extra.timings.get("ort_cpu", [])
            result.status[f"ort_cpu[{level}]"] = extra.status["ort_cpu"]
        print(format_table(result))


if __name__ == "__main__":
    main()
