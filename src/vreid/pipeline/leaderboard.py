"""`vreid leaderboard`: named entries x seeds, scored with bootstrap confidence intervals.

An entry (one file of configs/leaderboard/) is a re-ID training stage: a stage of the
`stages:` table changed by dotted overrides, or a full stage mapping. For each (entry,
seed) the stage is trained with `train.seed = seed` (its `init_from` models are the
chain's, models/<stage>/model.pt: only the entry's own stage is re-seeded), scored on
the query / gallery of `leaderboard.data`, and its per-query values (rank-1/5/10 hit,
AP, INP) are stored in `<out_dir>/<entry>/seed<k>/result.json` with the run's
fingerprint. An entry's `eval` changes the params' `eval` for its scoring only (paper
003's "+ XQDA": `scorer: xqda`). A later call reuses every result whose fingerprint (the
stage settings with the seed, the data's contents, the upstream model files, the
entry's scoring settings and the code under src/vreid) is unchanged, so adding an entry
trains only that entry and an interrupted leaderboard resumes. Entries that build the same model (the same builder
arguments once defaults are filled in) with the same seed are trained once.

The statistics (`vreid.eval.bootstrap`): each metric is the mean over seeds and queries,
with a 95% percentile interval from resampling seeds and queries with replacement; each
entry's difference to the reference entry is paired (the same draws for both).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Mapping, Sequence

import numpy as np

from ..config import (Claim, ConfigError, DatasetRef, EvalConfig, LeaderboardEntry,
                      ModelConfig, Params, PublishedResult, StageConfig, from_dict, read_yaml,
                      with_override)
from ..engine import MetricLogger, NullLogger
from ..eval.bootstrap import Interval, bootstrap_draws, interval, paired_difference
from ..eval.power import predicted_half_width, queries_needed, variance_components
from ..models import MODELS
from ..models.frame_memo import FRAME_MEMO
from ..models.registry import INIT_CHECKPOINT, model_arguments
from .common import (apply_runtime, atomic_write_bytes, atomic_write_json, atomic_write_text,
                     has_splits, load_model, read_configured, resolve_device,
                     saved_input_spec)
from .evaluate import ranked
from .fingerprint import dataset_digest, fingerprint, tree_digest, upstream_files
from .leaderboard_attributes import attribute_markdown, attribute_report, scored_attributes
from .stages import check_model, resolve_config
from .train import train_reid

RESULT = "result.json"
# name -> rank cut-off of the per-query hit; AP and INP are stored as they are
CUTOFFS = {"rank1": 1, "rank5": 5, "rank10": 10}
METRICS = (*CUTOFFS, "mAP", "mINP")
# a two-stage model's evaluation metrics kept in result.json's "first_stage"
FIRST_STAGE = ("first_stage_top_k", "first_stage_recall", "refine_pairs", "refine_seconds")
LEVEL = 0.95
SOURCE = Path(__file__).resolve().parents[1]  # src/vreid: its code is in the fingerprint


@dataclass(frozen=True)
class Entry:
    """A loaded entry: its stage resolved (overrides applied, init_from files merged in)."""

    name: str
    file: str
    description: str
    stage: StageConfig
    dataset: DatasetRef
    paper: PublishedResult | None = None
    claims: tuple[Claim, ...] = ()
    eval: EvalConfig | None = None  # its scoring settings; None: the params' `eval`

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in self.name).strip("_")


@dataclass(frozen=True)
class Job:
    """One (entry, seed) run: trains into `run_dir`, writes `run_dir/result.json`."""

    entry: str
    seed: int
    stage: StageConfig  # train.seed = seed
    dataset: DatasetRef  # trained on
    scored: DatasetRef  # its query / gallery
    run_dir: str
    fingerprint: str
    # a small set's splits (leaderboard.splits): trained and scored on each in turn
    splits: tuple[int, ...] = ()
    eval: EvalConfig | None = None  # the entry's scoring settings; None: the params' `eval`

    @property
    def result_path(self) -> Path:
        return Path(self.run_dir) / RESULT


@dataclass
class LeaderboardOutput:
    report: dict[str, Any]
    json_path: Path
    md_path: Path
    png_path: Path
    trained: list[tuple[str, int]] = field(default_factory=list)  # (entry, seed) run now
    reused: list[tuple[str, int]] = field(default_factory=list)  # stored results used


# ---------------------------------------------------------------------------- entries

def entry_files(patterns: Sequence[str]) -> list[Path]:
    """The files `patterns` name (globs expand in sorted order; a plain path must exist)."""
    files: list[Path] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            files += [Path(f) for f in sorted(glob.glob(pattern))]
        elif Path(pattern).is_file():
            files.append(Path(pattern))
        else:
            raise ConfigError(f"{pattern}: leaderboard entry file not found")
    if not files:
        raise ConfigError(f"leaderboard.entries: no entry file matches {list(patterns)}")
    return list(dict.fromkeys(files))


def load_entries(p: Params, patterns: Sequence[str]) -> list[Entry]:
    """Every entry the patterns name, validated; names (and their folder names) unique."""
    entries = [load_entry(p, path) for path in entry_files(patterns)]
    seen: dict[str, Entry] = {}
    for e in entries:
        for other in seen.values():
            if e.name == other.name or e.slug == other.slug:
                raise ConfigError(f"{e.file}: name: {e.name!r} is taken by {other.file} "
                                  f"({other.name!r}); entry names (and their folder names) "
                                  "must be unique")
        seen[e.name] = e
    return entries


def load_entry(p: Params, path: str | Path) -> Entry:
    """One entry file, resolved against the params' `stages:` table. Problems are
    ConfigErrors `file: key: message`."""
    where = str(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: an entry is a mapping (name, stage, overrides, ...)")
    if not isinstance(raw.get("stage", ""), (str, dict)):
        raise ConfigError(f"{where}: stage: a stage name of the `stages:` table or a stage "
                          f"mapping, got {raw['stage']!r}")
    entry = from_dict(LeaderboardEntry, raw, where)
    stage = _base_stage(p, entry, where)
    for key, value in entry.overrides.items():
        stage = with_override(stage, key, value, f"{where}: overrides", new_keys=True)
    scoring = p.eval
    for key, value in entry.eval.items():
        scoring = with_override(scoring, key, value, f"{where}: eval")
    _check_stage(p, stage, where)
    if scoring.scorer == "xqda" and MODELS.info(stage.model.name).scoring != "embedding":
        raise ConfigError(f"{where}: eval.scorer: xqda fits a metric on one vector per "
                          f"tracklet; {stage.model.name} scores tracklets as "
                          f"{MODELS.info(stage.model.name).scoring}")
    resolved = resolve_config(p, entry.name, stage)
    return Entry(entry.name, where, entry.description, resolved.config, resolved.dataset,
                 entry.paper, entry.claims, scoring)


def reference_entry(p: Params, entries: Sequence[Entry], reference: str | None = None) -> str:
    """The entry the others are compared to: `reference`, else `leaderboard.reference`,
    else ("") the first entry; a ConfigError if it is not one of `entries`."""
    reference = reference if reference is not None else p.leaderboard.reference
    names = [e.name for e in entries]
    reference = reference or names[0]
    if reference not in names:
        raise ConfigError(f"leaderboard.reference: {reference!r} is not an entry; "
                          f"entries: {names}")
    return reference


def _base_stage(p: Params, entry: LeaderboardEntry, where: str) -> StageConfig:
    reid = [n for n, s in p.stages.items() if isinstance(s, StageConfig)]
    if isinstance(entry.stage, dict):
        return from_dict(StageConfig, entry.stage, f"{where}: stage", sep=".")
    if entry.stage not in p.stages:
        raise ConfigError(f"{where}: stage: no stage {entry.stage!r} in the params' `stages:` "
                          f"table; re-ID stages: {reid}")
    if entry.stage not in reid:
        raise ConfigError(f"{where}: stage: {entry.stage!r} is a parsing stage; an entry is "
                          f"a re-ID stage: {reid}")
    return p.stages[entry.stage]


def _check_stage(p: Params, stage: StageConfig, where: str) -> None:
    datasets = [f.name for f in dataclasses.fields(p.data)
                if isinstance(getattr(p.data, f.name), DatasetRef)]
    if stage.data not in datasets:
        raise ConfigError(f"{where}: data: unknown dataset {stage.data!r}; known: {datasets}")
    for kwarg, source in stage.init_from.items():
        if source not in p.stages:
            raise ConfigError(f"{where}: init_from.{kwarg}: {source!r} is not a stage of the "
                              f"params' `stages:` table; known: {list(p.stages)}")
    check_model(stage.model, f"{where}: model")


def model_identity(model: ModelConfig) -> str:
    """The model name with every builder argument (defaults filled in): two configs with
    the same identity build the same model, e.g. a switch set to its default value."""
    init = model.kwargs.get(INIT_CHECKPOINT)  # build_model's own kwarg, not the builder's
    args = model_arguments(model.name, model.kwargs)
    # a model started from a trained model's weights is another model than one from scratch
    return json.dumps([model.name, args, *([{INIT_CHECKPOINT: init}] if init else [])],
                      sort_keys=True, default=str)


# ------------------------------------------------------------------------------- jobs

def plan_jobs(p: Params, entries: Sequence[Entry], seeds: Sequence[int],
              out_dir: str | Path) -> list[Job]:
    """(entry, seed) jobs in entry-major order, each with its reuse fingerprint. On a
    set with several train/test splits (iLIDS-VID, PRID2011) an entry trains on the
    scored set itself, split by split (`scored_splits`), not on its own `data`."""
    scored = getattr(p.data, p.leaderboard.data)
    splits = scored_splits(scored, p.leaderboard.splits)
    digests: dict[str, str] = {}  # a dataset's content digest, computed once per call

    def digest(ref: DatasetRef) -> str:
        key = json.dumps(dataclasses.asdict(ref), sort_keys=True)
        if key not in digests:
            digests[key] = dataset_digest(ref)
        return digests[key]

    code = tree_digest(SOURCE, "*.py")
    jobs = []
    for e in entries:
        for seed in seeds:
            stage = with_override(e.stage, "train.seed", seed, f"{e.file}: train.seed")
            # the model by its identity (not how its kwargs are spelled), the rest as is
            settings = dataclasses.replace(stage, model=ModelConfig(stage.model.name, {}))
            trained_on = scored if splits else e.dataset
            scoring = e.eval or p.eval
            fp = fingerprint(model_identity(stage.model), settings, trained_on,
                             digest(trained_on), scored, digest(scored),
                             upstream_files(stage.model.kwargs), scoring, code,
                             # only split runs add a part: stored one-split results stay valid
                             *([list(splits)] if splits else []))
            jobs.append(Job(e.name, seed, stage, trained_on, scored,
                            str(Path(out_dir) / e.slug / f"seed{seed}"), fp, splits, scoring))
    return jobs


def scored_splits(ref: DatasetRef, wanted: int) -> tuple[int, ...]:
    """The splits an entry is trained and scored on: () for a set with one fixed split;
    for iLIDS-VID / PRID2011, the first `wanted` of its splits (0: all of them)."""
    if not has_splits(ref.name):
        if wanted:
            raise ConfigError(f"leaderboard.splits: {wanted} given, but {ref.name} has one "
                              "fixed train/test split")
        return ()
    total = int(read_configured(ref).split_info["num_splits"])
    if wanted > total:
        raise ConfigError(f"leaderboard.splits: {wanted} given, but {ref.name} at "
                          f"{ref.root} has {total} splits")
    return tuple(range(wanted or total))


def stored_result(job: Job) -> dict[str, Any] | None:
    """The job's result.json when its fingerprint is the job's (else it is stale)."""
    try:
        record = json.loads(job.result_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return record if record.get("fingerprint") == job.fingerprint else None


def stored_as_they_are(jobs: Sequence[Job]
                       ) -> tuple[dict[tuple[str, int], dict[str, Any]], list[tuple[str, int]]]:
    """Every job's result.json whatever its fingerprint ({(entry, seed): record}), and the
    (entry, seed) pairs whose fingerprint is not the job's (stale: trained with other
    settings, data or code). A missing or unreadable result is an error naming it."""
    records, stale, missing = {}, [], []
    for job in jobs:
        try:
            record = json.loads(job.result_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError) as err:
            missing.append(f"{job.result_path} ({type(err).__name__})")
            continue
        records[(job.entry, job.seed)] = dict(record, entry=job.entry)
        if record.get("fingerprint") != job.fingerprint:
            stale.append((job.entry, job.seed))
    if missing:
        raise ConfigError("leaderboard --report-only: no stored result for "
                          f"{len(missing)} run(s): " + "; ".join(missing)
                          + " (run without --report-only to train them)")
    return records, stale


def run_job(job: Job, p: Params, logger: MetricLogger | None = None) -> dict[str, Any]:
    """Train the job's stage (resuming from its checkpoints), score it, write result.json,
    then delete the run's checkpoints (model.pt stays).

    With `job.splits` (a small set's protocol), one training and scoring per split, in
    `run_dir/split<k>/`; the per-query values of the splits are concatenated (every split
    has as many queries, so their mean is the CMC averaged over the splits)."""
    logger = logger or NullLogger()
    apply_runtime(p.runtime)
    scored_with = p if job.eval is None else dataclasses.replace(p, eval=job.eval)
    memo_before = FRAME_MEMO.stats()
    run_dir = Path(job.run_dir)
    per_query: dict[str, list] = {m: [] for m in METRICS}
    valid_queries: list[int] = []
    query_pids: list[int] = []  # the person of each valid query (attribute subsets)
    per_split: list[dict[str, float]] = []
    first_stage: list[dict[str, float]] = []  # two-stage scoring, per split
    train_seconds = inference_seconds = 0.0
    epochs_run, offset, resumed = 0, 0, None
    splits = job.splits or (None,)
    for split in splits:
        part = _part_dir(run_dir, split)
        start = time.perf_counter()
        out = train_reid(job.stage, _split(job.dataset, split), p.runtime, part,
                         part / "checkpoints", logger)
        train_seconds += time.perf_counter() - start
        epochs_run += out.epochs_run
        resumed = out.resumed_from_epoch if resumed is None else resumed
        model, saved = load_model(out.model_path)
        index = read_configured(_split(job.scored, split))
        start = time.perf_counter()
        metrics, (result, *_) = ranked(model, index, scored_with,
                                       saved_input_spec(saved, job.stage.input),
                                       resolve_device(p.runtime.device))
        inference_seconds += time.perf_counter() - start
        if "first_stage_recall" in metrics:
            first_stage.append({k: metrics[k] for k in FIRST_STAGE})
        valid = np.isfinite(result.ap)
        first = result.first_match[valid]
        values = {name: (first < k).astype(int).tolist() for name, k in CUTOFFS.items()}
        values.update(mAP=result.ap[valid].tolist(), mINP=result.inp[valid].tolist())
        for m in METRICS:
            per_query[m] += values[m]
        valid_queries += (offset + np.flatnonzero(valid)).tolist()
        query_pids += [index.query[i].pid for i in np.flatnonzero(valid)]
        offset += len(valid)
        per_split.append({m: float(np.mean(v)) for m, v in values.items()})
    memo_after = FRAME_MEMO.stats()
    record = {
        "entry": job.entry, "seed": job.seed, "fingerprint": job.fingerprint,
        "metrics": {m: float(np.mean(v)) for m, v in per_query.items()},
        "per_query": per_query,  # over the valid queries (query index: valid_queries)
        "valid_queries": valid_queries, "query_pids": query_pids,
        "train_seconds": train_seconds,  # of the call that finished training
        "epochs_run": epochs_run, "resumed_from_epoch": resumed,
        "inference_seconds": inference_seconds,  # scoring query + gallery, ranking
        "parameters": int(sum(t.numel() for t in model.parameters())),
        "model_path": str(out.model_path),
        # frozen frames this run took from the memo / computed (runtime.frame_memo_mb)
        "frame_memo": {k: memo_after[k] - memo_before[k] for k in ("hits", "misses")},
    }
    if first_stage:  # over the splits: recall averaged, pairs and seconds summed
        record["first_stage"] = {
            "top_k": int(first_stage[0]["first_stage_top_k"]),
            "recall": float(np.mean([f["first_stage_recall"] for f in first_stage])),
            "refine_pairs": int(sum(f["refine_pairs"] for f in first_stage)),
            "refine_seconds": float(sum(f["refine_seconds"] for f in first_stage))}
    if job.splits:
        record.update(splits=list(job.splits), per_split=per_split)
    atomic_write_json(job.result_path, record)
    # the result is reused by its fingerprint from now on: the epoch checkpoints (kept so an
    # interrupted run resumes) would only fill the disk, ~130 MB per split of a small set
    for split in splits:
        shutil.rmtree(_part_dir(run_dir, split) / "checkpoints", ignore_errors=True)
    logger.log_metrics(record_metrics(record))
    return record


def _part_dir(run_dir: Path, split: int | None) -> Path:
    """Where one training of a run goes: the run's folder, or split<k>/ of a small set's."""
    return run_dir if split is None else run_dir / f"split{split}"


def _split(ref: DatasetRef, split: int | None) -> DatasetRef:
    return ref if split is None else dataclasses.replace(ref, split_id=split)


def record_metrics(record: Mapping[str, Any]) -> dict[str, float]:
    """What a (entry, seed) run logs: its metrics, times and parameter count."""
    first = {f"first_stage_{k}": float(v) for k, v in (record.get("first_stage") or {}).items()}
    return {**record["metrics"], "train_seconds": record["train_seconds"],
            "inference_seconds": record["inference_seconds"],
            "parameters": float(record["parameters"]), **first}


def _ray_job(job: Job, p: Params, root: str, threads: int) -> dict[str, Any]:
    """A job as a Ray task: from the project root (workers start elsewhere), with the
    task's CPUs as torch threads unless runtime.threads says otherwise."""
    import os

    os.chdir(root)
    if not p.runtime.threads:
        p = dataclasses.replace(p, runtime=dataclasses.replace(p.runtime, threads=threads))
    return run_job(job, p)


RunContext = Callable[[str, int, bool], ContextManager[MetricLogger]]


def leaderboard(
    p: Params,
    entries: Sequence[Entry] | None = None,
    seeds: Sequence[int] | None = None,
    address: str | None = None,
    reports_dir: str | Path = "reports",
    report_name: str = "leaderboard",
    reference: str | None = None,
    run_context: RunContext | None = None,
    report_only: bool = False,
) -> LeaderboardOutput:
    """Run (or reuse) every (entry, seed) of the leaderboard and write
    `reports_dir/<report_name>.{json,md,png}`.

    `entries` default to `leaderboard.entries`' files, `seeds` to `leaderboard.seeds`,
    `address` to `leaderboard.address` (a Ray cluster: the jobs run as Ray tasks; empty:
    one after another here), `reference` to `leaderboard.reference` (else the first
    entry). `run_context(entry, seed, reused)` opens the tracking run of one job (its
    logger gets the training curves when the job runs here, the final metrics always).
    `report_only`: train nothing; report the stored results as they are, also those whose
    fingerprint changed (listed as stale in the report), and fail if one is missing.
    """
    lb = p.leaderboard
    entries = list(entries if entries is not None else load_entries(p, lb.entries))
    seeds = list(seeds if seeds is not None else lb.seeds)
    if not entries or not seeds:
        raise ValueError(f"leaderboard: nothing to run ({len(entries)} entries, "
                         f"{len(seeds)} seeds)")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"leaderboard: seeds must be distinct, got {seeds}")
    reference = reference_entry(p, entries, reference)
    address = address if address is not None else lb.address
    context = run_context or (lambda entry, seed, reused: nullcontext(NullLogger()))

    jobs = plan_jobs(p, entries, seeds, lb.out_dir)
    records: dict[tuple[str, int], dict[str, Any]] = {}
    by_fp: dict[str, dict[str, Any]] = {}  # fingerprint -> a stored result with it
    stale: list[tuple[str, int]] = []
    if report_only:
        records, stale = stored_as_they_are(jobs)
    for job in jobs:
        record = None if report_only else stored_result(job)
        if record is not None:
            records[(job.entry, job.seed)] = record
            by_fp.setdefault(job.fingerprint, record)
    todo: dict[str, list[Job]] = {}  # fingerprint -> the jobs it stands for (same model)
    for job in jobs:
        if report_only:
            break
        if (job.entry, job.seed) not in records and job.fingerprint not in by_fp:
            todo.setdefault(job.fingerprint, []).append(job)
    trained = [same[0] for same in todo.values()]  # one job per distinct model and seed
    if address:
        from ..hpo.cluster import ray_map

        threads = max(1, int(lb.cpus_per_job))
        root = str(Path.cwd().resolve())
        done = ray_map(_ray_job, [(job, p, root, threads) for job in trained], address,
                       lb.cpus_per_job)
        for job, record in zip(trained, done):
            by_fp[job.fingerprint] = record
    else:
        for job in trained:
            with context(job.entry, job.seed, False) as logger:
                by_fp[job.fingerprint] = run_job(job, p, logger)
    ran_here = {(j.entry, j.seed) for j in trained}
    for job in jobs:
        key = (job.entry, job.seed)
        if key not in records:  # run now, or the same model as a job run now or stored
            source = by_fp[job.fingerprint]
            records[key] = dict(source, entry=job.entry)
            if key not in ran_here:  # the job that ran wrote its own result.json
                records[key]["same_as"] = source["entry"]
                atomic_write_json(job.result_path, records[key])
        if key not in ran_here or address:  # a job run here logged as it ran
            with context(job.entry, job.seed, key not in ran_here) as logger:
                logger.log_metrics(record_metrics(records[key]))
    report = aggregate(entries, seeds, records, reference, lb.bootstrap_samples,
                       lb.bootstrap_seed, lb.target_half_width)
    report["data"] = dataclasses.asdict(getattr(p.data, lb.data))
    report["stale"] = [{"entry": e, "seed": k} for e, k in stale]
    report["attributes"] = attribute_report(  # paper 004 table 7 (leaderboard_attributes)
        [e.name for e in entries], seeds, records, reference,
        scored_attributes(getattr(p.data, lb.data), p.eval.attributes),
        lb.bootstrap_samples, lb.bootstrap_seed, LEVEL)
    reports = Path(reports_dir)
    json_path, md_path, png_path = (reports / f"{report_name}.{ext}"
                                    for ext in ("json", "md", "png"))
    atomic_write_json(json_path, report)
    atomic_write_text(md_path, leaderboard_markdown(report) + attribute_markdown(report))
    atomic_write_bytes(png_path, leaderboard_png(report))
    keys = [(j.entry, j.seed) for j in jobs]
    return LeaderboardOutput(report, json_path, md_path, png_path,
                             trained=[k for k in keys if k in ran_here],
                             reused=[k for k in keys if k not in ran_here])


# -------------------------------------------------------------------------- statistics

def aggregate(entries: Sequence[Entry], seeds: Sequence[int],
              records: Mapping[tuple[str, int], Mapping[str, Any]], reference: str,
              samples: int = 1000, bootstrap_seed: int = 0,
              target_half_width: float = 0.03) -> dict[str, Any]:
    """The leaderboard's numbers from the per-(entry, seed) records (`run_job`'s), with each
    entry's power calculation for its paired rank-1 difference (`vreid.eval.power`)."""
    queries = {tuple(r["valid_queries"]) for r in records.values()}
    if len(queries) != 1:
        raise ValueError("leaderboard: the runs were scored on different valid queries "
                         "(each (entry, seed) must be scored on the same query / gallery)")
    num_queries = len(next(iter(queries)))
    draws = bootstrap_draws(len(seeds), num_queries, samples, bootstrap_seed)

    def values(entry: str, metric: str) -> np.ndarray:  # [seeds, queries]
        return np.array([records[(entry, s)]["per_query"][metric] for s in seeds], dtype=float)

    def same_model(a: str, b: str) -> bool:  # one model per seed (one fingerprint)
        return all(records[(a, s)].get("fingerprint") == records[(b, s)].get("fingerprint")
                   for s in seeds)

    rows = []
    for e in entries:
        runs = [records[(e.name, s)] for s in seeds]
        diffs = {m: paired_difference(values(e.name, m), values(reference, m), draws, LEVEL)
                 for m in METRICS}
        rows.append({
            "name": e.name, "description": e.description, "file": e.file,
            "metrics": {m: interval(values(e.name, m), draws, LEVEL).as_dict() for m in METRICS},
            "per_seed": {m: [r["metrics"][m] for r in runs] for m in METRICS},
            "vs_reference": {m: {**d.as_dict(), "half_width": d.half_width,
                                 "significant": d.excludes_zero} for m, d in diffs.items()},
            "same_model_as_reference": e.name != reference and same_model(e.name, reference),
            "power": None if e.name == reference or same_model(e.name, reference) else rank1_power(
                values(e.name, "rank1") - values(reference, "rank1"), len(seeds),
                target_half_width),
            "train_seconds": float(np.mean([r["train_seconds"] for r in runs])),
            "inference_seconds": float(np.mean([r["inference_seconds"] for r in runs])),
            "parameters": runs[0]["parameters"],
            "paper": dataclasses.asdict(e.paper) if e.paper else None,
            "first_stage": first_stage_summary(runs),
        })
    return {"reference": reference, "seeds": list(seeds), "num_queries": num_queries,
            "bootstrap_samples": samples, "bootstrap_seed": bootstrap_seed, "level": LEVEL,
            "target_half_width": target_half_width, "entries": rows,
            "claims": claim_verdicts(entries, values, draws, same_model)}


def first_stage_summary(runs: Sequence[Mapping[str, Any]]) -> dict[str, float] | None:
    """A two-stage entry's first-stage recall@K and refine cost, means over its seeds
    (None for a one-stage entry)."""
    stages = [r["first_stage"] for r in runs if r.get("first_stage")]
    if not stages:
        return None
    return {"top_k": stages[0]["top_k"],
            **{k: float(np.mean([s[k] for s in stages]))
               for k in ("recall", "refine_pairs", "refine_seconds")}}


CLAIM_METRICS = ("rank1", "mAP")


def verdict(diff: Interval) -> str:
    """A claimed improvement (diff = claimant - other > 0) against its paired interval."""
    if diff.lo > 0:
        return "reproduced"
    if diff.hi < 0:
        return "contradicted"
    return "inconclusive"


def claim_verdicts(entries: Sequence[Entry], values: Callable[[str, str], np.ndarray],
                   draws: Any, same_model: Callable[[str, str], bool]) -> list[dict[str, Any]]:
    """Each entry's `claims` (it beats another entry) tested on rank-1 and mAP with the
    paired difference claimant - other on the board's draws; the paper's own difference
    from both entries' `paper` figures. A claim whose other entry is not on this board is
    kept with verdict "not run"; one between two names of the same model, "same model"."""
    by_name = {e.name: e for e in entries}
    out = []
    for e in entries:
        for claim in e.claims:
            other = by_name.get(claim.beats)
            row: dict[str, Any] = {"entry": e.name, "beats": claim.beats,
                                   "source": claim.source, "paper": None, "metrics": {}}
            if other is not None and e.paper and other.paper:
                row["paper"] = {"rank1": e.paper.rank1 - other.paper.rank1,
                                "mAP": e.paper.mAP - other.paper.mAP}
            if other is None:
                row["verdict"] = {m: "not run" for m in CLAIM_METRICS}
            elif same_model(e.name, other.name):
                row["verdict"] = {m: "same model" for m in CLAIM_METRICS}
            else:
                row["verdict"] = {}
                for m in CLAIM_METRICS:
                    d = paired_difference(values(e.name, m), values(other.name, m), draws, LEVEL)
                    row["metrics"][m] = {**d.as_dict(), "significant": d.excludes_zero}
                    row["verdict"][m] = verdict(d)
            out.append(row)
    return out


def rank1_power(diff: np.ndarray, seeds: int, target: float) -> dict[str, Any]:
    """Variance components of a paired rank-1 difference [seeds, queries], the half-width
    they predict at the measured size, and the queries `target` needs with `seeds` seeds
    (None: the seed term alone is wider)."""
    c = variance_components(diff)
    return {"components": c.as_dict(),
            "predicted_half_width": predicted_half_width(c, c.num_queries, seeds, LEVEL),
            "queries_for_target": queries_needed(c, target, seeds, LEVEL)}


# ----------------------------------------------------------------------------- reports

def _pct(ci: Mapping[str, float]) -> str:
    return f"{100 * ci['mean']:.1f} [{100 * ci['lo']:.1f}, {100 * ci['hi']:.1f}]"


def _delta(d: Mapping[str, Any]) -> str:
    return f"{100 * d['mean']:+.1f} [{100 * d['lo']:+.1f}, {100 * d['hi']:+.1f}]" + (
        " *" if d["significant"] else "")


def leaderboard_markdown(report: Mapping[str, Any]) -> str:
    """The table of reports/leaderboard.md (percent; `*`: the paired 95% CI excludes 0)."""
    from ..markdown import markdown_table

    ref = report["reference"]
    paper = any(row["paper"] for row in report["entries"])
    headers = ["entry", "rank-1", "rank-5", "rank-10", "mAP", "mINP", "train s", "infer s",
               "params", "Δrank-1 vs ref", "ΔmAP vs ref", "±Δrank-1"]
    headers += ["paper rank-1", "paper mAP"] if paper else []
    cells = []
    for row in report["entries"]:
        m, d = row["metrics"], row["vs_reference"]
        is_ref = row["name"] == ref
        same = row.get("same_model_as_reference")
        versus = (["-"] * 3 if is_ref else ["= ref (same model)", "= ref", "-"] if same else
                  [_delta(d["rank1"]), _delta(d["mAP"]), f"{100 * d['rank1']['half_width']:.1f}"])
        line = [row["name"] + (" (ref)" if is_ref else ""),
                *(_pct(m[k]) for k in METRICS),
                f"{row['train_seconds']:.0f}", f"{row['inference_seconds']:.1f}",
                f"{row['parameters'] / 1e6:.2f}M", *versus]
        if paper:
            fig = row["paper"]
            line += [f"{fig['rank1']:.2f}", f"{fig['mAP']:.2f}"] if fig else ["-", "-"]
        cells.append(line)
    seeds = ", ".join(str(s) for s in report["seeds"])
    note = (f"Mean over seeds {seeds} and {report['num_queries']} queries; [lo, hi]: "
            f"{report['level']:.0%} bootstrap interval over queries and seeds "
            f"({report['bootstrap_samples']} samples). Δ: paired difference to {ref} (same "
            "resampled queries and seeds); `*`: its interval excludes 0. ±Δrank-1: that "
            "interval's half-width. Times: seconds per seed (training wall time, scoring the "
            "query and gallery). Percent.")
    parts = [markdown_table(headers, cells), "", note, "", power_markdown(report)]
    two_stage = first_stage_markdown(report)
    if two_stage:
        parts += ["", two_stage]
    claims = claims_markdown(report)
    if claims:
        parts += ["", claims]
    stale = report.get("stale") or []
    if stale:
        total = len(report["entries"]) * len(report["seeds"])
        runs = ("all of them" if len(stale) == total else
                ", ".join(f"{s['entry']} seed {s['seed']}" for s in stale))
        parts += ["", f"Stale: {len(stale)} of {total} run(s) are reported as stored although "
                  "their fingerprint (settings, data, upstream models or code) differs from "
                  f"this checkout's (`--report-only`): {runs}."]
    return "\n".join(parts) + "\n"


def first_stage_markdown(report: Mapping[str, Any]) -> str:
    """Two-stage entries: the first stage's recall@K and the refine stage's cost."""
    from ..markdown import markdown_table

    cells = [[row["name"], str(f["top_k"]), f"{100 * f['recall']:.1f}",
              f"{f['refine_pairs']:.0f}", f"{f['refine_seconds']:.2f}"]
             for row in report["entries"] if (f := row.get("first_stage"))]
    if not cells:
        return ""
    note = ("Two-stage scoring: recall@K, the percent of queries with a true match among "
            "the cheap distance's top K (the most the re-scoring can rank first), and the "
            "re-scoring's cost (query-gallery pairs scored, seconds), means over seeds.")
    return "\n".join([markdown_table(["entry", "K", "recall@K", "pairs", "refine s"], cells),
                      "", note])


def claims_markdown(report: Mapping[str, Any]) -> str:
    """The papers' claimed directions with our paired differences and verdicts."""
    from ..markdown import markdown_table

    cells = []
    for c in report.get("claims") or []:
        paper = c["paper"]
        ours = [(_delta(c["metrics"][m]) if m in c["metrics"] else "-") for m in CLAIM_METRICS]
        cells.append([f"{c['entry']} > {c['beats']}", c["source"] or "-",
                      f"{paper['rank1']:+.2f}" if paper else "-", ours[0],
                      c["verdict"]["rank1"],
                      f"{paper['mAP']:+.2f}" if paper else "-", ours[1], c["verdict"]["mAP"]])
    if not cells:
        return ""
    headers = ["claim", "source", "paper Δrank-1", "our Δrank-1", "verdict rank-1",
               "paper ΔmAP", "our ΔmAP", "verdict mAP"]
    note = ("Claims: a direction the paper claims (`claims:` of the entry files), tested by "
            "the paired difference claimant - other on the same draws. Reproduced: its "
            f"{report['level']:.0%} interval excludes 0 with the claimed sign; contradicted: "
            "it excludes 0 with the opposite sign; inconclusive: it includes 0. The paper's "
            "Δ is the difference of the two entries' published figures (percent points).")
    return "\n".join([markdown_table(headers, cells), "", note])


def power_markdown(report: Mapping[str, Any]) -> str:
    """Each entry's power calculation for its paired rank-1 difference (points)."""
    from ..markdown import markdown_table

    target = 100 * report.get("target_half_width", 0.03)
    seeds = len(report["seeds"])
    cells = []
    for row in report["entries"]:
        power = row.get("power")
        if not power:
            continue
        c, need = power["components"], power["queries_for_target"]
        cells.append([row["name"], f"{100 * row['vs_reference']['rank1']['half_width']:.1f}",
                      f"{100 * power['predicted_half_width']:.1f}",
                      f"{c['query']:.3f}", f"{c['seed']:.5f}", f"{c['residual']:.3f}",
                      "unreachable" if need is None else str(need)])
    if not cells:
        return ""
    headers = ["entry", "±Δrank-1 (bootstrap)", "±Δrank-1 (predicted)", "σ²query",
               "σ²seed", "σ²resid", f"queries for ±{target:.1f} with {seeds} seeds"]
    note = ("Power calculation (`vreid.eval.power`): variance components of the paired "
            "per-query rank-1 difference to the reference (query effect, seed effect, "
            "interaction; two-way moments), the normal half-width they predict at this "
            f"size, and the queries a ±{target:.1f}-point interval needs with {seeds} seeds "
            "(unreachable: the seed term alone is wider; more seeds are needed).")
    return "\n".join([markdown_table(headers, cells), "", note])


def leaderboard_png(report: Mapping[str, Any]) -> bytes:
    """Rank-1 and mAP per entry with their intervals as error bars (PNG bytes)."""
    import io

    from matplotlib.figure import Figure  # Agg canvas: no display, no pyplot state

    rows = report["entries"]
    names = [r["name"] for r in rows]
    fig = Figure(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.5), layout="constrained")
    for ax, metric, label in zip(fig.subplots(1, 2), ("rank1", "mAP"), ("rank-1 (%)", "mAP (%)")):
        ci = [r["metrics"][metric] for r in rows]
        mean = np.array([100 * c["mean"] for c in ci])
        err = np.array([[100 * (c["mean"] - c["lo"]) for c in ci],
                        [100 * (c["hi"] - c["mean"]) for c in ci]])
        x = np.arange(len(rows))
        ax.bar(x, mean, yerr=err, capsize=4,
               color=["tab:orange" if n == report["reference"] else "tab:blue" for n in names])
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(label)
        ax.set_title(f"{label}, {report['level']:.0%} CI")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
