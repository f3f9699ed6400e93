"""Torch eager vs ONNX Runtime CPU throughput of the paper 001-004 CPU models.

    python benchmarks/bench_models.py --quick            # 3 models, batch 1, 2 calls: a smoke run
    python benchmarks/bench_models.py                    # every distinct p001-p004 model at 64x32
    python benchmarks/bench_models.py --paper            # the same models at 256x128 input
    python benchmarks/bench_models.py --entries 'configs/leaderboard/p004_t4_*.yaml'

One row per distinct model of the leaderboard entries (entries that build the same
model, e.g. paper 001's loss ablation, are timed once) and export graph (paper 002's
step 2 has two: the I3D clip encoder, and g_theta, whose batch items are clip pairs),
items/s (clips; clip pairs for g_theta) of torch eager and of ONNX Runtime CPU measured
in the same run, and their ratio. The timing, export and
parity code is vreid.export's (`benchmark_backends`, `export_onnx`, `onnx_parity`);
random weights (speed does not depend on them). With --paper the models' size-bound
kwargs (each COSAM's map size, the attention's map-sized kernel) are rebuilt for
256x128, and --paper-size sets another size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

DEFAULT_ENTRIES = tuple(f"configs/leaderboard/p00{i}_*.yaml" for i in (1, 2, 3, 4))
BACKENDS = ("torch_eager", "ort_cpu")


def at_size(kwargs: dict, height: int, width: int) -> dict:
    """`video_cnn` kwargs rebuilt for height x width frames: the COSAMs' sizes and a
    map-sized attention kernel follow the input (the trunk's final map, measured)."""
    from vreid.models import BACKBONES
    from vreid.models.cosam import stage_map_sizes

    kwargs = dict(kwargs)
    if kwargs.get("cosam_after"):
        kwargs.update(height=height, width=width)
    temporal_kwargs = dict(kwargs.get("temporal_kwargs") or {})
    if temporal_kwargs.get("spatial_kernel"):
        trunk = BACKBONES.get(kwargs.get("backbone", "resnet"))(
            depth=kwargs.get("depth", 18), last_stride=kwargs.get("last_stride", 1))
        temporal_kwargs["spatial_kernel"] = list(stage_map_sizes(trunk, height, width)["layer4"])
        kwargs["temporal_kwargs"] = temporal_kwargs
    return kwargs


def distinct_models(patterns, size):
    """[(entry names, model name, kwargs, InputSpec)], one per distinct model and input."""
    from vreid.config import load_params
    from vreid.models.inputs import InputSpec
    from vreid.pipeline.leaderboard import load_entries, model_identity

    params = load_params(HERE.parent / "params.yaml")
    models: dict[str, list] = {}
    for e in load_entries(params, patterns):
        inp = e.stage.input
        height, width = size or (inp.height, inp.width)
        kwargs = at_size(e.stage.model.kwargs, height, width) if size else e.stage.model.kwargs
        key = model_identity(type(e.stage.model)(e.stage.model.name, kwargs)) + str(
            (inp.clip_len, height, width))
        row = models.setdefault(key, [[], e.stage.model.name, kwargs,
                                      InputSpec(height, width, inp.clip_len)])
        row[0].append(e.name)
    return list(models.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", action="append", help="entry files or globs "
                    "(default: the p001-p004 entries)")
    ap.add_argument("--paper", action="store_true", help="time at --paper-size input")
    ap.add_argument("--paper-size", default="256x128")
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="torch / ORT threads (0: defaults)")
    ap.add_argument("--limit", type=int, default=0, help="time the first N models only")
    ap.add_argument("--quick", action="store_true",
                    help="3 models (unless --limit), batch 1, 1 warm-up, 2 timed calls")
    args = ap.parse_args()

    import torch

    from vreid.export import describe_machine
    from vreid.markdown import markdown_table
    from vreid.models import MODELS, build_model

    if args.threads:
        torch.set_num_threads(args.threads)
    batch_sizes = (1,) if args.quick else tuple(int(b) for b in args.batch_sizes.split(","))
    warmup, iterations = (1, 2) if args.quick else (args.warmup, args.iterations)
    limit = args.limit or (3 if args.quick else 0)
    size = tuple(int(v) for v in args.paper_size.split("x")) if args.paper else None
    models = distinct_models(args.entries or DEFAULT_ENTRIES, size)
    if limit:
        models = models[:limit]
    print("machine:", describe_machine())
    print(f"{len(models)} model(s); warm-up {warmup}, {iterations} timed calls per backend "
          f"and batch size {list(batch_sizes)}\n")
    cells = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (names, model_name, kwargs, spec) in enumerate(models):
            torch.manual_seed(0)
            model = build_model(model_name, num_classes=100, **kwargs).eval()
            for graph_name, graph in MODELS.info(model_name).export_graphs(model, spec, 2).items():
                cells += bench_graph(graph, Path(tmp) / f"{i}_{graph_name}.onnx", batch_sizes,
                                     warmup, iterations, args.threads,
                                     [names[0] + (f" (+{len(names) - 1})" if len(names) > 1
                                                  else ""), graph_name,
                                      "x".join(map(str, graph.example_inputs[0].shape[1:]))])
            print(f"{names[0]}: done", flush=True)
    print()
    print(markdown_table(["model (entries sharing it)", "graph", "item", "batch",
                          "eager items/s", "ORT CPU items/s", "ORT vs eager", "export s",
                          "parity"], cells))


def bench_graph(graph, path, batch_sizes, warmup, iterations, threads, label):
    """Export one graph, check ORT parity, time both backends: a table row per batch size."""
    from vreid.export import benchmark_backends
    from vreid.export.onnx import export_onnx, onnx_parity

    start = time.perf_counter()
    export_onnx(graph, path)
    export_s = time.perf_counter() - start
    parity = max(onnx_parity(graph, path, (1, 3)).values())
    result = benchmark_backends(graph, path, batch_sizes, BACKENDS, warmup, iterations, "cpu",
                                threads)
    metrics = result.metrics()
    failed = {k: v for k, v in result.status.items() if v != "ok"}
    if failed:
        print(f"{label[0]} {label[1]}: {failed}", flush=True)
    rows = []
    for b in batch_sizes:
        eager = metrics.get(f"torch_eager.bs{b}.clips_per_s")
        ort = metrics.get(f"ort_cpu.bs{b}.clips_per_s")
        ratio = metrics.get(f"ratio.ort_cpu_vs_torch_eager.bs{b}")
        rows.append([*label, b, "-" if eager is None else f"{eager:.1f}",
                     "-" if ort is None else f"{ort:.1f}",
                     "-" if ratio is None else f"{ratio:.2f}x", f"{export_s:.1f}",
                     f"{parity:.1e}"])
    return rows


if __name__ == "__main__":
    main()
