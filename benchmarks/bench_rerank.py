"""Benchmark of k-reciprocal re-ranking (vreid.eval.rerank) against the common reference approach.

    python benchmarks/bench_rerank.py            # MARS scale (1,980 x 9,330) + 10,000 x 50,000 features
    python benchmarks/bench_rerank.py --quick    # small sizes, a few seconds
    python benchmarks/bench_rerank.py --device cuda

Every timed run is a fresh subprocess, so its peak RSS (ru_maxrss) is its own; the RSS of a run
includes the Python + torch runtime and the input matrices it loads. Features are synthetic but
clustered like a re-id test set: identity centres + noise in 512-d, L2-normalised.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))


def make_features(q: int, g: int, dim: int = 512, ids: int = 625, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(ids, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    f = np.empty((q + g, dim), np.float32)
    lab = np.concatenate([np.arange(q) % ids, rng.integers(0, ids, size=g)])
    for s in range(0, q + g, 8192):  # chunked to keep the generator's memory small
        part = centres[lab[s : s + 8192]] + 0.05 * rng.normal(size=(len(lab[s : s + 8192]), dim)).astype(np.float32)
        f[s : s + 8192] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return f[:q], f[q:]


def make_dists(q: int, g: int, seed: int = 0):
    import torch

    from vreid.eval.distance import compute_distance

    qf, gf = (torch.from_numpy(x) for x in make_features(q, g, seed=seed))
    return (
        compute_distance(qf, gf, "euclidean").numpy(),
        compute_distance(qf, qf, "euclidean").numpy(),
        compute_distance(gf, gf, "euclidean").numpy(),
    )


def reference_rerank(q_g, q_q, g_g, k1=20, k2=6, lambda_value=0.3, vdtype=np.float16, stable=False):
    """The common reference approach: dense (Q+G)^2 matrices, a full int64 argsort, dense V.

    ``vdtype=np.float16`` and ``stable=False`` reproduce the widely used implementation;
    ``vdtype=np.float32, stable=True`` is the exact (oracle) semantics vreid implements.
    """
    Q = q_g.shape[0]
    N = Q + q_g.shape[1]
    d = np.concatenate([np.concatenate([q_q, q_g], 1), np.concatenate([q_g.T, g_g], 1)], 0)
    d = np.power(d, 2).astype(np.float32)
    d = np.transpose(d / np.max(d, axis=0))
    rank = np.argsort(d, axis=1, kind="stable" if stable else None)
    V = np.zeros((N, N), dtype=vdtype)
    kh = int(np.around(k1 / 2.0)) + 1

    def recip(i, n):
        fwd = rank[i, :n]
        hit = np.where(rank[fwd, :n] == i)[0]
        return fwd[hit]

    for i in range(N):
        r = recip(i, k1 + 1)
        parts = [r]
        for c in r:
            h = recip(c, kh)
            if len(np.intersect1d(h, r)) > 2.0 / 3 * len(h):
                parts.append(h)
        members = np.unique(np.concatenate(parts))
        w = np.exp(-d[i, members])
        V[i, members] = w / np.sum(w)
    d = d[:Q]
    if k2 != 1:
        V_qe = np.zeros_like(V)
        for i in range(N):
            V_qe[i] = np.mean(V[rank[i, :k2]], axis=0)
        V = V_qe
        del V_qe
    del rank
    inv = [np.where(V[:, k] != 0)[0] for k in range(N)]
    jac = np.zeros_like(d, dtype=vdtype)
    for i in range(Q):
        s = np.zeros(N, dtype=vdtype)
        nz = np.where(V[i] != 0)[0]
        for k in nz:
            rows = inv[k]
            s[rows] = s[rows] + np.minimum(V[i, k], V[rows, k])
        jac[i] = 1 - s / (2.0 - s)
    final = jac * (1 - lambda_value) + d * lambda_value
    return final[:, Q:]


# ------------------------------------------------------------------ subprocess workers


def _peak_rss() -> int:
    """Peak RSS of this process. VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork + exec,
    so a child would inherit the (large) parent's peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker(args) -> None:
    import torch

    from vreid.eval.rerank import RerankMemoryError, re_ranking, re_ranking_features

    if args.threads:
        torch.set_num_threads(args.threads)
    res: dict = {"rss_imports": _peak_rss()}
    if args.worker in ("ours", "reference"):
        mats = [np.load(os.path.join(args.dir, f"{n}.npy")) for n in ("q_g", "q_q", "g_g")]
        res["rss_inputs"] = _peak_rss()
        t, c = time.perf_counter(), _cpu()
        if args.worker == "ours":
            if args.device != "cpu":
                mats = [torch.from_numpy(m).to(args.device) for m in mats]
                torch.cuda.synchronize()
                t = time.perf_counter()
            out = re_ranking(*mats)
            if args.device != "cpu":
                torch.cuda.synchronize()
                res["gpu_peak"] = torch.cuda.max_memory_allocated()
                out = out.cpu().numpy()
        else:
            out = reference_rerank(*mats)
        res["time"], res["cpu_s"] = time.perf_counter() - t, _cpu() - c
        if args.save:
            np.save(os.path.join(args.dir, f"out_{args.worker}.npy"), np.asarray(out, dtype=np.float32))
    else:  # features
        qf, gf = make_features(args.q, args.g, seed=1)
        qf, gf = torch.from_numpy(qf).to(args.device), torch.from_numpy(gf).to(args.device)
        res["rss_inputs"] = _peak_rss()
        t, c = time.perf_counter(), _cpu()
        try:
            out = re_ranking_features(qf, gf)
            if args.device != "cpu":
                torch.cuda.synchronize()
                res["gpu_peak"] = torch.cuda.max_memory_allocated()
            res["shape"] = list(out.shape)
        except RerankMemoryError as e:
            res["refused"] = str(e)
        res["time"], res["cpu_s"] = time.perf_counter() - t, _cpu() - c
    res["rss_peak"] = _peak_rss()
    print("RESULT " + json.dumps(res))


THREADS = 0


def run_worker(kind: str, device: str, d: str, q=0, g=0, save=False, timeout=3600) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--device", device, "--dir", d]
    cmd += ["--q", str(q), "--g", str(g), "--threads", str(THREADS)] + (["--save"] if save else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (p.stderr or p.stdout)[-2000:]}


def gb(n) -> str:
    return f"{n / 1e9:.2f} GB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--skip-reference", action="store_true", help="do not time the dense reference")
    ap.add_argument("--skip-large", action="store_true", help="skip the 10,000 x 50,000 features case")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads in the workers (0 = torch default); use 1 on a busy machine, "
                         "where OpenMP with oversubscribed cores slows everything down several times")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    ap.add_argument("--q", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--g", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--save", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    global THREADS
    THREADS = args.threads

    import torch

    from vreid.eval.rerank import re_ranking

    Q, G = (300, 1400) if args.quick else (1980, 9330)
    LQ, LG = (1000, 5000) if args.quick else (10_000, 50_000)
    rows = []
    print(f"torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads in workers, "
          f"device {args.device}, load average {os.getloadavg()[0]:.1f}")

    # accuracy on a smaller case: exact (float32, stable) oracle and the float16 reference
    sq, sg = (100, 500) if args.quick else (300, 1500)
    small = make_dists(sq, sg, seed=2)
    ours = re_ranking(*small)
    err32 = float(np.abs(ours - reference_rerank(*small, vdtype=np.float32, stable=True)).max())
    err16 = float(np.abs(ours - reference_rerank(*small)).max())
    print(f"accuracy at {sq} x {sg}: max |ours - oracle(float32)| = {err32:.2e}, "
          f"max |ours - reference(float16)| = {err16:.2e}")

    with tempfile.TemporaryDirectory() as d:
        mats = make_dists(Q, G)
        for n, m in zip(("q_g", "q_q", "g_g"), mats):
            np.save(os.path.join(d, f"{n}.npy"), m)
        in_bytes = sum(m.nbytes for m in mats)
        del mats
        print(f"inputs at {Q} x {G}: {gb(in_bytes)} float32")
        r_ours = run_worker("ours", args.device, d, save=True)
        print("ours:", r_ours)
        r_ref = None
        if not args.skip_reference:
            r_ref = run_worker("reference", "cpu", d, save=True)
            print("reference:", r_ref)
        name = f"re_ranking ({args.device})"
        if "error" in r_ours:
            rows.append((name, f"{Q} x {G}", "error", "", r_ours["error"][-200:]))
        else:
            note = f"incl. inputs {gb(in_bytes)} and torch runtime {gb(r_ours['rss_imports'])}"
            if "gpu_peak" in r_ours:
                note += f"; GPU peak {gb(r_ours['gpu_peak'])}"
            rows.append((name, f"{Q} x {G}", f"{r_ours['time']:.2f} s ({r_ours['cpu_s']:.1f} CPU-s)", gb(r_ours["rss_peak"]), note))
        if r_ref and "error" not in r_ref:
            diff = ""
            if "error" not in r_ours:
                a = np.load(os.path.join(d, "out_ours.npy"))
                b = np.load(os.path.join(d, "out_reference.npy"))
                diff = f"max abs diff to ours {np.abs(a - b).max():.2e}"
            rows.append(("reference (dense, float16 V)", f"{Q} x {G}", f"{r_ref['time']:.2f} s ({r_ref['cpu_s']:.1f} CPU-s)",
                         gb(r_ref["rss_peak"]), diff))
    rows.append(("ours vs exact float32 oracle", f"{sq} x {sg}", "", "", f"max abs diff {err32:.2e}"))
    rows.append(("ours vs float16 reference", f"{sq} x {sg}", "", "", f"max abs diff {err16:.2e}"))

    if not args.skip_large:
        r = run_worker("features", args.device, ".", q=LQ, g=LG)
        print("features:", r)
        name = f"re_ranking_features ({args.device})"
        if "error" in r:
            rows.append((name, f"{LQ} x {LG}", "error", "", r["error"][-200:].replace("\n", " ")))
        elif "refused" in r:
            rows.append((name, f"{LQ} x {LG}", "refused", gb(r["rss_peak"]), r["refused"]))
        else:
            note = f"incl. output {gb(LQ * LG * 4)}, features, torch runtime {gb(r['rss_imports'])}"
            if "gpu_peak" in r:
                note += f"; GPU peak {gb(r['gpu_peak'])}"
            rows.append((name, f"{LQ} x {LG}", f"{r['time']:.1f} s ({r['cpu_s']:.0f} CPU-s)", gb(r["rss_peak"]), note))

    print("\n| what | size (Q x G) | time | peak RSS | notes |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
