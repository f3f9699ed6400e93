"""Benchmark of the evaluation engine (vreid.eval.evaluate_rank / evaluate_rank_features).

    python benchmarks/bench_eval.py                 # MARS scale + 20k x 100k, 2 CPU threads
    python benchmarks/bench_eval.py --quick         # smaller, for a smoke run
    python benchmarks/bench_eval.py --device cuda   # distances on the GPU

1. MARS test scale (1,980 query x 9,330 gallery tracklets, 625 identities, 6 cameras,
   float32 squared-euclidean distances of synthetic 512-d features: identity centre +
   camera bias + noise, 5% distractors). Times, in the same run: `evaluate_rank`; a plain
   per-query loop in the usual torchreid style (argsort per query, python-level masking
   and precision list) on a subset of queries, extrapolated linearly to all queries; the
   sort of the distance matrix alone (stable argsort, and a values-only sort).
   The loop's numbers on the subset are checked against `evaluate_rank`.
2. 20,000 query x 100,000 gallery with `evaluate_rank_features` (the 8e9-byte distance
   matrix is never built) in a child process: wall time and peak RSS (ru_maxrss of the
   child) against the 8 GB target.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from vreid.eval import compute_distance, evaluate_rank, evaluate_rank_features

RSS_TARGET_GB = 8.0


def synthetic(nq: int, ng: int, ids: int = 625, dim: int = 512, cams: int = 6, seed: int = 0,
              device: str = "cpu"):
    """Features with re-ID-like structure: identity centre + camera bias + noise.

    5% of the gallery are distractors (pid -1) around their own random centres.
    Returns float32 torch features on `device` and numpy pids / camids.
    """
    rng = np.random.default_rng(seed)
    gen = torch.Generator(device=device).manual_seed(seed)
    # scales chosen so that the metrics look like a good model on MARS
    # (about R1 0.99, mAP 0.89, mINP 0.52 at MARS scale)
    centres = 0.6 * torch.randn(ids, dim, generator=gen, device=device)
    cam_bias = 0.3 * torch.randn(cams, dim, generator=gen, device=device)
    q_pids = rng.integers(0, ids, nq)
    g_pids = rng.integers(0, ids, ng)
    g_pids[rng.random(ng) < 0.05] = -1
    q_cams, g_cams = rng.integers(0, cams, nq), rng.integers(0, cams, ng)

    def make(pids, cam_ids):
        out = torch.empty(len(pids), dim, device=device)
        for s in range(0, len(pids), 8192):  # bounded temporaries
            p = torch.as_tensor(pids[s:s + 8192], device=device)
            c = torch.as_tensor(cam_ids[s:s + 8192], device=device)
            base = torch.where((p >= 0)[:, None], centres[p.clamp_min(0)],
                               0.6 * torch.randn(len(p), dim, generator=gen, device=device))
            out[s:s + 8192] = base + cam_bias[c] + torch.randn(len(p), dim, generator=gen, device=device)
        return out

    return make(q_pids, q_cams), make(g_pids, g_cams), q_pids, g_pids, q_cams, g_cams


def loop_reference(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    """The common per-query evaluation (torchreid style): argsort, mask, python lists."""
    cmcs, aps, inps = [], [], []
    for q in range(distmat.shape[0]):
        order = np.argsort(distmat[q], kind="stable")
        remove = (g_pids[order] == q_pids[q]) & (g_camids[order] == q_camids[q])
        raw = (g_pids[order] == q_pids[q])[~remove].astype(np.int32)
        if not raw.any():
            continue
        cmc = raw.cumsum()
        last = np.flatnonzero(raw == 1).max()
        inps.append(cmc[last] / (last + 1.0))
        cmc[cmc > 1] = 1
        cmcs.append(cmc[:max_rank])
        tmp = raw.cumsum()
        tmp = np.asarray([x / (i + 1.0) for i, x in enumerate(tmp)]) * raw
        aps.append(tmp.sum() / raw.sum())
    return np.mean(cmcs, 0), float(np.mean(aps)), float(np.mean(inps))


def timed(fn, repeats=1):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def mars_scale(args):
    nq, ng = (1980, 9330)
    print(f"== MARS scale: {nq} queries x {ng} gallery, 625 ids, 6 cameras, "
          f"device={args.device}, torch threads={torch.get_num_threads()}")
    q, g, qp, gp, qc, gc = synthetic(nq, ng, device=args.device)
    dist_t = compute_distance(q, g, "euclidean")
    dist = dist_t.cpu().numpy()
    rows = {}

    t_eval, res = timed(lambda: evaluate_rank(dist, qp, gp, qc, gc), repeats=3)
    print(f"evaluate_rank (numpy float32 distmat): {t_eval:.3f} s   "
          f"R1 {res.rank(1):.4f} mAP {res.mAP:.4f} mINP {res.mINP:.4f} ({res.num_valid} valid)")
    rows["evaluate_rank"] = t_eval
    if args.device != "cpu":
        t_dev, _ = timed(lambda: evaluate_rank(dist_t, qp, gp, qc, gc), repeats=3)
        print(f"evaluate_rank ({args.device} tensor distmat, chunks copied to CPU): {t_dev:.3f} s")
        rows[f"evaluate_rank ({args.device} tensor)"] = t_dev

    sub = min(nq, args.loop_queries)
    t_loop, (cmc_l, ap_l, inp_l) = timed(
        lambda: loop_reference(dist[:sub], qp[:sub], gp, qc[:sub], gc))
    check = evaluate_rank(dist[:sub], qp[:sub], gp, qc[:sub], gc)
    agree = (np.allclose(check.cmc, cmc_l, atol=1e-12) and abs(check.mAP - ap_l) < 1e-12
             and abs(check.mINP - inp_l) < 1e-12)
    t_loop_all = t_loop * nq / sub
    print(f"per-query loop reference: {t_loop:.3f} s on {sub} queries -> "
          f"{t_loop_all:.2f} s extrapolated to {nq} (numbers agree with evaluate_rank: {agree})")
    rows["loop"] = t_loop_all

    t_argsort, _ = timed(lambda: np.argsort(dist, axis=1, kind="stable"), repeats=2)
    t_sort, _ = timed(lambda: np.sort(dist, axis=1), repeats=2)
    print(f"distance matrix sort alone: stable argsort {t_argsort:.3f} s, "
          f"values-only np.sort (1 thread) {t_sort:.3f} s")
    rows["argsort"], rows["sort"] = t_argsort, t_sort
    print(f"speed-up vs loop: {t_loop_all / t_eval:.0f}x; vs stable argsort alone: "
          f"{t_argsort / t_eval:.1f}x; target <= 1.0 s: {'met' if t_eval <= 1.0 else 'MISSED'}")
    return rows, res, agree, sub


def big_child(args):
    """Runs in the child process: synthetic features, then evaluate_rank_features."""
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    q, g, qp, gp, qc, gc = synthetic(args.nq, args.ng, device=args.device)
    if args.device != "cpu":
        torch.cuda.synchronize()
    t_feat = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = evaluate_rank_features(q, g, qp, gp, qc, gc, metric="euclidean", max_rank=50)
    t_eval = time.perf_counter() - t0
    print(json.dumps({"features_s": t_feat, "eval_s": t_eval, "mAP": res.mAP, "R1": res.rank(1),
                      "mINP": res.mINP, "num_valid": res.num_valid}))


def big_scale(args):
    nq, ng = (5000, 25000) if args.quick else (20000, 100000)
    print(f"\n== evaluate_rank_features: {nq} queries x {ng} gallery (full float32 distmat would be "
          f"{nq * ng * 4 / 1e9:.1f} GB), child process, device={args.device}")
    cmd = [sys.executable, os.path.abspath(__file__), "--child-big", "--nq", str(nq), "--ng", str(ng),
           "--device", args.device, "--threads", str(args.threads)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr)
        raise SystemExit(f"child failed with exit code {proc.returncode}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9  # KiB on Linux
    print(f"child wall {wall:.1f} s (features {info['features_s']:.1f} s, "
          f"evaluate_rank_features {info['eval_s']:.1f} s); peak RSS {rss_gb:.2f} GB "
          f"(target {RSS_TARGET_GB:.0f} GB: {'met' if rss_gb <= RSS_TARGET_GB else 'MISSED'}); "
          f"R1 {info['R1']:.4f} mAP {info['mAP']:.4f} mINP {info['mINP']:.4f}")
    return nq, ng, info, rss_gb, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (distances on the device)")
    ap.add_argument("--quick", action="store_true", help="5k x 25k big case, fewer loop queries")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (also the sort threads)")
    ap.add_argument("--loop-queries", type=int, default=None,
                    help="queries the loop reference runs on (extrapolated); default 300, quick 60")
    ap.add_argument("--skip-big", action="store_true", help="only the MARS-scale part")
    ap.add_argument("--child-big", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--nq", type=int, default=20000, help=argparse.SUPPRESS)
    ap.add_argument("--ng", type=int, default=100000, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for but CUDA is not available")
    if args.child_big:
        return big_child(args)
    torch.set_num_threads(args.threads)
    if args.loop_queries is None:
        args.loop_queries = 60 if args.quick else 300

    rows, res, agree, sub = mars_scale(args)
    big = None if args.skip_big else big_scale(args)

    dev = args.device if args.device == "cpu" else f"{args.device} (distances) + CPU"
    print(f"\n| Evaluation ({dev}, {args.threads} CPU threads) | time | vs evaluate_rank |")
    print("|---|---:|---:|")
    e = rows["evaluate_rank"]
    print(f"| `evaluate_rank`, MARS scale 1,980 x 9,330 | {e:.3f} s | 1x |")
    for key, val in rows.items():
        if key.startswith("evaluate_rank ("):
            print(f"| `{key}` | {val:.3f} s | {val / e:.1f}x |")
    print(f"| per-query loop (torchreid style), {sub} queries extrapolated to 1,980 | "
          f"{rows['loop']:.2f} s | {rows['loop'] / e:.0f}x |")
    print(f"| stable argsort of the distance matrix alone | {rows['argsort']:.3f} s | "
          f"{rows['argsort'] / e:.1f}x |")
    print(f"| values-only sort of the distance matrix (1 thread) | {rows['sort']:.3f} s | "
          f"{rows['sort'] / e:.1f}x |")
    if big is not None:
        nq, ng, info, rss_gb, wall = big
        print(f"| `evaluate_rank_features` {nq:,} x {ng:,} (distances on the fly) | "
              f"{info['eval_s']:.1f} s | peak RSS {rss_gb:.2f} GB (target <= {RSS_TARGET_GB:.0f} GB) |")
    print(f"\nMARS-scale synthetic metrics: R1 {res.rank(1):.3f}, mAP {res.mAP:.3f}, mINP {res.mINP:.3f}; "
          f"loop reference agrees on its {sub} queries: {agree}")


if __name__ == "__main__":
    main()
