"""The pipeline's stage graph, derived from params.yaml: dvc.yaml and the Prefect flow's
order, cache keys and outputs all come from `stage_graph`.

prepare -> validate -> the `stages:` table in its order -> evaluate, evaluate_metadata,
export -> benchmark, tune. A stage's code dependencies are the vreid modules its stage
function imports, followed transitively (`code_deps`), so a change to any code a stage
runs re-runs it. `vreid dvc-yaml` writes dvc.yaml (`dvc_yaml`); a test keeps the
committed file equal to it.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

from ..config import DatasetRef, ParsingStageConfig, Params
from .stages import model_file, model_stage, model_stage_file, tuned_stage
from .timing import timing_file

PACKAGE = Path(__file__).resolve().parent.parent  # src/vreid
SOURCE = "src/vreid"  # from the repository root
REPORTS = "reports"


@dataclass(frozen=True)
class Out:
    path: str
    cache: bool = True
    persist: bool = False
    comment: str = ""


@dataclass(frozen=True)
class GraphStage:
    """One stage: its command, what it reads and what it writes.

    `modules`: the vreid modules holding its stage function (code deps: their imports);
    `params`: params.yaml sections it reads; `data`: keys of `data:` whose content it
    reads (the flow's cache key digests them); `inputs`: other stages' files it reads;
    `gates`: further DVC-only deps (the data folder, the validation report)."""

    name: str
    cmd: str
    modules: tuple[str, ...]
    params: tuple[str, ...]
    data: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    outs: tuple[Out, ...] = ()
    metrics: tuple[Out, ...] = ()
    plots: tuple[Out, ...] = ()
    comment: str = ""
    wdir: str = ""  # DVC's working directory, relative to the dvc.yaml holding the stage

    @property
    def files(self) -> tuple[Path, ...]:
        """Everything it leaves: a cached result is reused only while these exist."""
        return tuple(Path(o.path) for o in (*self.outs, *self.metrics, *self.plots))


KEPT = "written atomically at the end: a failed run keeps the last model"


def dataset_keys(p: Params) -> tuple[str, ...]:
    """The keys of `data:` that are datasets (video, image, parsing, egoreid)."""
    return tuple(f.name for f in dataclasses.fields(p.data)
                 if isinstance(getattr(p.data, f.name), DatasetRef))


def _training_stage(p: Params, name: str) -> GraphStage:
    stage = p.stages[name]
    parsing = isinstance(stage, ParsingStageConfig)
    outs = [Out(str(model_file(name)), persist=True, comment=KEPT),
            Out(f"checkpoints/{name}", cache=False, persist=True,
                comment="resume after an interruption")]
    metrics: list[Out] = []
    if parsing:
        outs.append(Out(f"{REPORTS}/parsing_overlays.png", cache=False))
        metrics.append(Out(f"{REPORTS}/parsing_metrics.json", cache=False))
    # wall time, clips/s, frames/s: one file per stage (DVC allows one writer per file)
    metrics.append(Out(timing_file(REPORTS, name).as_posix(), cache=False))
    return GraphStage(
        name, f"vreid train-stage {name}",
        ("vreid.pipeline.stages", "vreid.pipeline.pretrain_parsing" if parsing
         else "vreid.pipeline.train"),
        (f"data.{stage.data}", f"stages.{name}"), data=(stage.data,),
        inputs=tuple(str(model_file(s)) for s in stage.init_from.values()),
        gates=(f"{REPORTS}/validation.json",), outs=tuple(outs), metrics=tuple(metrics))


def stage_graph(p: Params) -> tuple[GraphStage, ...]:
    """Every stage of the pipeline, in run order (what `dvc repro` and the flow run)."""
    synthetic = p.data.synthetic_root
    model = str(model_stage_file(p))
    evaluated = f"stages.{model_stage(p)}.input"
    tuned = p.stages[tuned_stage(p)]
    out = [
        GraphStage("prepare", "vreid prepare", ("vreid.pipeline.prepare",),
                   ("synth", "data.synthetic_root"),
                   outs=(Out(synthetic, cache=False, persist=True, comment=(
                       "writers replace each set atomically; keep the last good one")),)),
        GraphStage("validate", "vreid validate", ("vreid.pipeline.validate",), ("data",),
                   data=dataset_keys(p), gates=(synthetic,),
                   outs=(Out(f"{REPORTS}/validation.md", cache=False),
                         Out(f"{REPORTS}/validation.json", cache=False))),
        *(_training_stage(p, name) for name in p.stages),
        GraphStage("evaluate", "vreid evaluate", ("vreid.pipeline.evaluate",),
                   ("data.video", evaluated, "eval"), data=("video",), inputs=(model,),
                   # which frames were scored (eval.frames): a string, so not a metric
                   outs=(Out(f"{REPORTS}/eval_protocol.json", cache=False),),
                   metrics=(Out(f"{REPORTS}/metrics.json", cache=False),
                            Out(timing_file(REPORTS, "evaluate").as_posix(), cache=False)),
                   plots=(Out(f"{REPORTS}/cmc.csv", cache=False),)),
        GraphStage("evaluate_metadata", "vreid evaluate-metadata",
                   ("vreid.pipeline.evaluate_metadata",),
                   ("data.egoreid", evaluated, "eval", "metadata"), data=("egoreid",),
                   inputs=(model,), gates=(synthetic,),
                   metrics=(Out(f"{REPORTS}/metadata_metrics.json", cache=False),
                            Out(timing_file(REPORTS, "evaluate_metadata").as_posix(),
                                cache=False))),
        GraphStage("export", "vreid export", ("vreid.pipeline.export",), ("export",),
                   inputs=(model,),
                   outs=(Out("models/export/model.onnx", persist=True, comment=(
                       "replaced only once ORT parity passes: a failed export keeps it")),),
                   metrics=(Out(f"{REPORTS}/export.json", cache=False),)),
        GraphStage("benchmark", "vreid benchmark", ("vreid.pipeline.benchmark",),
                   ("benchmark",), inputs=(model, "models/export/model.onnx"),
                   metrics=(Out(f"{REPORTS}/benchmark.json", cache=False),)),
        GraphStage("tune", "vreid tune", ("vreid.hpo.search",),
                   (f"data.{tuned.data}", f"stages.{tuned_stage(p)}", "tune"),
                   data=(tuned.data,),
                   inputs=tuple(str(model_file(s)) for s in tuned.init_from.values()),
                   outs=(Out(p.tune.storage, cache=False, persist=True, comment=(
                       "Tune's experiment state: an interrupted search resumes")),
                         Out(p.tune.best_params, cache=False)),
                   comment=(f"Ray Tune search over {tuned_stage(p)} (tiny default budget); "
                            "does not change the chain")),
    ]
    return tuple(out)


def graph_stage(p: Params, name: str) -> GraphStage:
    for stage in stage_graph(p):
        if stage.name == name:
            return stage
    raise ValueError(f"unknown stage {name!r}; known: {[s.name for s in stage_graph(p)]}")


def _module_file(module: str) -> Path | None:
    """The source file of a vreid module (a package's __init__.py), None if not one."""
    base = PACKAGE.parent.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(module: str, path: Path) -> set[str]:
    """vreid modules that `module` imports anywhere in its file (lazy imports too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from . import x`
    out = set()
    for name in found:
        if name.split(".")[0] == "vreid" and _module_file(name):
            parts = name.split(".")  # importing a.b.c runs a and a.b's __init__ too
            out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def source_dir(cwd: str | Path | None = None) -> str:
    """`src/vreid` as a path from the working folder, where DVC resolves deps: from the
    folder itself or its nearest parent holding src/vreid (a profile folder such as
    benchmark/ has its own dvc.yaml: `../src/vreid`)."""
    here = Path(cwd or Path.cwd()).resolve()
    for up, folder in enumerate((here, *here.parents)):
        if (folder / SOURCE / "__init__.py").is_file():
            return "/".join([".."] * up + [SOURCE])
    return SOURCE


def code_deps(modules: tuple[str, ...]) -> tuple[str, ...]:
    """Source paths covering every vreid module `modules` import, transitively: a
    sub-package's folder (src/vreid/models), single files for vreid's top-level modules
    and for pipeline/ (one file per stage); relative to the working folder (`source_dir`)."""
    source = source_dir()
    return tuple(f"{source}/{rel}" for rel in _package_paths(modules))


@functools.lru_cache(maxsize=None)
def _package_paths(modules: tuple[str, ...]) -> tuple[str, ...]:
    """`code_deps`' paths relative to the package folder."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(_imports(module, _module_file(module)) - seen)
    paths = set()
    for module in seen:
        rel = _module_file(module).relative_to(PACKAGE)
        if len(rel.parts) > 1 and rel.parts[0] != "pipeline":
            paths.add(rel.parts[0])
        else:
            paths.add(rel.as_posix())
    return tuple(sorted(paths))


def _outs(lines: list[str], key: str, outs: tuple[Out, ...]) -> None:
    if not outs:
        return
    lines.append(f"    {key}:")
    for o in outs:
        flags = ([] if o.cache else ["cache: false"]) + (["persist: true"] if o.persist else [])
        if not flags:
            lines.append(f"      - {o.path}")
            continue
        lines.append(f"      - {o.path}:")
        for i, flag in enumerate(flags):
            note = f"  # {o.comment}" if o.comment and i == len(flags) - 1 else ""
            lines.append(f"          {flag}{note}")


HEADER = ["# Generated by `vreid dvc-yaml` from params.yaml (its `stages:` table and",
          "# vreid.pipeline.graph): edit those and re-run it, never this file.",
          "# Each stage calls one `vreid` sub-command, which calls one stage function."]


def _stage_lines(stage: GraphStage) -> list[str]:
    lines = [f"  {stage.name}:" + (f"  # {stage.comment}" if stage.comment else "")]
    if stage.wdir:
        lines.append(f"    wdir: {stage.wdir}")
    lines.append(f"    cmd: {stage.cmd}")
    lines.append("    deps:")
    deps = (*stage.inputs, *stage.gates, *code_deps(stage.modules))
    lines.extend(f"      - {d}" for d in dict.fromkeys(deps))
    lines.append("    params:")
    lines.extend(f"      - {name}" for name in stage.params)
    _outs(lines, "outs", stage.outs)
    _outs(lines, "metrics", stage.metrics)
    _outs(lines, "plots", stage.plots)
    lines.append("")
    return lines


def dvc_yaml(p: Params) -> str:
    """dvc.yaml's text for params `p` (what `vreid dvc-yaml` writes)."""
    lines = [*HEADER, "stages:"]
    for stage in stage_graph(p):
        lines += _stage_lines(stage)
    lines += ["plots:", "  - cmc:", "      title: CMC, trained vs untrained", "      x: rank",
              "      y:", f"        {REPORTS}/cmc.csv: [cmc, untrained_cmc]"]
    return "\n".join(lines) + "\n"


# The leaderboard trains every entry for several seeds: hours, not part of `make run`. Its
# stage lives in a dvc.yaml of its own, which a root `dvc repro` does not reproduce (DVC
# reproduces the dvc.yaml of the working directory unless given targets or --all-pipelines);
# `dvc repro leaderboard/dvc.yaml` runs it, and the chain stages it needs first.
LEADERBOARD_DVC_YAML = "leaderboard/dvc.yaml"


def _entry_folders(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """What DVC can watch for `leaderboard.entries`: a file itself, a glob's folder."""
    import glob

    out = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            parts = Path(pattern).parts
            fixed = [q for q in parts[:next(i for i, q in enumerate(parts) if glob.has_magic(q))]]
            out.append(Path(*fixed).as_posix() if fixed else ".")
        else:
            out.append(pattern)
    return tuple(dict.fromkeys(out))


def leaderboard_stage(p: Params) -> GraphStage:
    """`vreid leaderboard` as a DVC stage (its entries are loaded for their upstream models)."""
    from .leaderboard import load_entries

    lb = p.leaderboard
    entries = load_entries(p, lb.entries)
    upstream = sorted({str(model_file(s)) for e in entries for s in e.stage.init_from.values()})
    data = sorted({lb.data, *(e.stage.data for e in entries)})
    return GraphStage(
        "leaderboard", "vreid leaderboard", ("vreid.pipeline.leaderboard",),
        (*(f"data.{d}" for d in data), "stages", "eval", "leaderboard"), data=tuple(data),
        inputs=(*_entry_folders(lb.entries), *upstream), gates=(f"{REPORTS}/validation.json",),
        outs=(Out(lb.out_dir, cache=False, persist=True, comment=(
                  "finished (entry, seed) runs, reused while their fingerprint holds")),
              Out(f"{REPORTS}/leaderboard.json", cache=False),
              Out(f"{REPORTS}/leaderboard.md", cache=False),
              Out(f"{REPORTS}/leaderboard.png", cache=False)),
        comment="entries x seeds with bootstrap CIs (slow: not part of `make run`)",
        wdir="..")


def leaderboard_dvc_yaml(p: Params) -> str:
    """leaderboard/dvc.yaml's text (`vreid dvc-yaml --leaderboard`); paths are relative
    to the repository root (`wdir: ..`)."""
    lines = [*HEADER, "# Not run by `dvc repro` / `make run`: `dvc repro leaderboard/dvc.yaml`.",
             "stages:", *_stage_lines(leaderboard_stage(p))]
    return "\n".join(lines).rstrip("\n") + "\n"
