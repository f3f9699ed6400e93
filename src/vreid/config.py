"""Typed configuration: params.yaml is read into these dataclasses in one place.

Every section is a frozen dataclass; unknown keys are errors that name the file and
the key, so a typo in params.yaml never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_type_hints

import yaml


class ConfigError(ValueError):
    """params.yaml (or an override) is malformed; the message names the file and key."""


@dataclass(frozen=True)
class DatasetRef:
    """A dataset on disk: a reader name and the root folder it reads.

    `union` merges several sets with identity offsets (paper 000 pretrains on ten image
    sets): give `sources`, e.g. `{name: union, sources: [{name: market1501, root: ...},
    {name: mars, root: ...}]}`, and leave `root` empty.
    """

    name: str
    root: str = ""
    sources: tuple["DatasetRef", ...] = ()
    # >0: hold this many training identities out as a validation query / gallery
    # (vreid.data.split; the test split is then never read). Set by tuning trials.
    holdout_ids: int = 0
    holdout_seed: int = 0


@dataclass(frozen=True)
class DataConfig:
    # Where `prepare` writes the embedded (synthetic) sets.
    synthetic_root: str = "data/synthetic"
    video: DatasetRef = DatasetRef("mars", "data/synthetic/mars")
    image: DatasetRef = DatasetRef("market1501", "data/synthetic/market1501")
    parsing: DatasetRef = DatasetRef("lip", "data/synthetic/lip")
    # EgoReID layout with sensor metadata (evaluate-metadata)
    egoreid: DatasetRef = DatasetRef("egoreid", "data/synthetic/egoreid")


@dataclass(frozen=True)
class SynthConfig:
    """Sizes and difficulty of the embedded data; passed to `vreid.data.synth`."""

    seed: int = 0
    render: dict[str, Any] = field(default_factory=dict)
    difficulty: dict[str, Any] = field(default_factory=dict)
    video: dict[str, Any] = field(default_factory=dict)
    image: dict[str, Any] = field(default_factory=dict)
    parsing: dict[str, Any] = field(default_factory=dict)
    egoreid: dict[str, Any] = field(default_factory=dict)  # vreid.data.synth.EgoWorldConfig


@dataclass(frozen=True)
class ModelConfig:
    name: str = "resnet_tap"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InputConfig:
    height: int = 64
    width: int = 32
    clip_len: int = 4
    train_sampling: str = "random"  # random | consecutive | evenly
    random_erasing: float = 0.0
    flip: float = 0.5
    pad: int = 4


@dataclass(frozen=True)
class LossTerm:
    name: str
    weight: float = 1.0
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    epochs: int = 16
    ids_per_batch: int = 8  # P of the PK sampler
    instances_per_id: int = 4  # K of the PK sampler
    iters_per_epoch: int = 0  # 0: one pass over the identities
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 5e-4
    momentum: float = 0.9
    warmup_epochs: int = 2
    warmup_factor: float = 0.1
    milestones: tuple[int, ...] = (12,)
    gamma: float = 0.1
    losses: tuple[LossTerm, ...] = (
        LossTerm("cross_entropy", 1.0, {"label_smoothing": 0.1}),
        LossTerm("triplet", 1.0, {"margin": 0.3}),
    )


@dataclass(frozen=True)
class StageConfig:
    """One re-ID training stage of the `stages:` table: which model, on what input, trained
    how, on which dataset (`data`: a key of the `data:` section), and which of its model
    kwargs are earlier stages' model files (`init_from`: kwarg -> stage name, resolved to
    `models/<stage>/model.pt` by `vreid.pipeline.stages.resolve_stage`)."""

    kind: str = "reid"
    data: str = "video"
    init_from: dict[str, str] = field(default_factory=dict)
    model: ModelConfig = ModelConfig()
    input: InputConfig = InputConfig()
    train: TrainConfig = TrainConfig()


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how fast things run; never changes results' meaning (not fingerprinted)."""

    device: str = "auto"
    threads: int = 0  # 0: torch's default
    num_workers: int = 0
    amp: bool = False


@dataclass(frozen=True)
class ParsingTrainConfig:
    """Parser training settings (tiny CPU profile by default).

    Paper profile: model={"backbone": "inception_v3", "aspp_rates": [6, 12, 18],
    "aspp_channels": 256, "pretrained": <local ImageNet weights>}, height=width=512,
    batch_size=8, optimizer="sgd", lr=0.01, head_lr_mult=10. The tiny profile's ASPP rates
    (1, 2, 3) are scaled to its 6x3 feature map (at 6/12/18 every atrous tap but the
    centre would fall in the zero padding).
    """

    model: dict[str, Any] = field(default_factory=lambda: {
        "backbone": "resnet", "depth": 18, "aspp_rates": [1, 2, 3], "aspp_channels": 32})
    height: int = 96
    width: int = 48
    flip: float = 0.5
    epochs: int = 15
    batch_size: int = 8
    eval_batch_size: int = 16
    optimizer: str = "adam"  # adam | sgd (Nesterov, appendix D)
    lr: float = 0.003
    head_lr_mult: float = 3.0  # ASPP + classifier lr = lr * this (paper: 10)
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: int = 1
    warmup_factor: float = 0.1
    milestones: tuple[int, ...] = (12,)
    gamma: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class ParsingStageConfig(ParsingTrainConfig):
    """A human-parser training stage of the `stages:` table (`kind: parsing`): the parser
    settings above, on a parsing set (`data`); `init_from` fills keys of `model`."""

    kind: str = "parsing"
    data: str = "parsing"
    init_from: dict[str, str] = field(default_factory=dict)


# The kinds of training stage; an entry's `kind` picks its class (default: the first).
TrainingStage = Union[StageConfig, ParsingStageConfig]


@dataclass(frozen=True)
class RerankConfig:
    """k-reciprocal re-ranking (Zhong et al., 2017); reported beside the plain ranking."""

    enabled: bool = True
    k1: int = 20
    k2: int = 6
    lambda_value: float = 0.3


@dataclass(frozen=True)
class EvalConfig:
    batch_size: int = 32
    metric: str = "euclidean"  # euclidean | cosine
    max_rank: int = 50
    ranks: tuple[int, ...] = (1, 5, 10, 20)
    rerank: RerankConfig = RerankConfig()
    untrained_baseline: bool = True


@dataclass(frozen=True)
class TrackingConfig:
    experiment: str = "vreid"
    # Empty: MLFLOW_TRACKING_URI if set, else sqlite:///mlflow.db at the repo root.
    tracking_uri: str = ""
    log_model: bool = True


@dataclass(frozen=True)
class MetadataConfig:
    """Sensor-metadata pruning (paper 000 sec. 5, eq. 1-2; vreid.eval.metadata explains).

    range_m: subtracted from the camera distance before eq. 1 (a phone sees a person
    before reaching it; a target walking away leaves the view ahead of the camera); 0 is
    the paper's formula. The default covers the embedded world's 12 m view range twice
    plus the walkway's width. on_missing: error | skip (no pruning for that query).
    """

    target_speed: float = 1.3
    tolerance_deg: float = 45.0
    range_m: float = 30.0
    slack_s: float = 0.0
    max_gap_s: float = 1.0
    on_missing: str = "error"


@dataclass(frozen=True)
class ExportConfig:
    """ONNX export of the trained model (and a TensorRT engine where TensorRT can run)."""

    opset: int = 18
    export_batch: int = 2  # example batch traced (>= 2); the batch axis is dynamic
    parity_batch_sizes: tuple[int, ...] = (1, 3)  # ORT vs torch, at batches != export_batch
    tolerance: float = 1e-4  # max |torch - ORT| (fp32); above it the export fails
    tensorrt: bool = True  # build models/export/model.engine when TensorRT and a GPU exist
    tensorrt_fp16: bool = True  # TensorRT 10.x only (11.x is strongly typed: fp32 graph)
    tensorrt_batch_sizes: tuple[int, ...] = (1, 8, 32)  # optimisation profile min/opt/max


@dataclass(frozen=True)
class BenchmarkConfig:
    """Inference throughput / latency per backend (vreid.export.benchmark.BACKENDS)."""

    batch_sizes: tuple[int, ...] = (1, 8, 32)
    warmup: int = 1  # untimed calls per backend and batch size
    iterations: int = 3  # timed calls per backend and batch size
    backends: tuple[str, ...] = ("torch_eager", "ort_cpu", "ort_cuda", "tensorrt")
    threads: int = 0  # torch and ORT intra-op threads; 0: runtime.threads, else the default
    ort_optimization: str = "all"  # disable | basic | extended | all


@dataclass(frozen=True)
class SearchDim:
    """One tuned hyper-parameter: a dotted path into the tuned stage and its distribution.

    `path` addresses the stage config (`train.lr`, `input.clip_len`, list items by index:
    `train.losses.0.kwargs.label_smoothing`); kind: loguniform | uniform (low, high),
    randint (low <= n < high), choice (values).
    """

    path: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class TuneConfig:
    """Ray Tune search over one training stage (vreid.hpo); tiny default budget."""

    stage: str = ""  # a re-ID stage of the `stages:` table; "": the model stage
    space: tuple[SearchDim, ...] = ()
    num_samples: int = 2
    epochs: int = 1  # per trial (overrides the stage's train.epochs); ASHA's max_t
    iters_per_epoch: int = 0  # >0 overrides the stage's train.iters_per_epoch
    metric: str = "mAP"  # validation metric maximised (rank1, mAP, mINP, ...)
    holdout_ids: int = 10  # training identities held out as the validation split
    holdout_seed: int = 0
    grace_period: int = 1  # ASHA: epochs before a trial may be stopped
    reduction_factor: int = 2
    searcher: str = "random"  # random (Tune's built-in variant generator) | optuna
    seed: int = 0
    cpus_per_trial: float = 1.0
    threads_per_trial: int = 1
    max_concurrent: int = 2
    address: str = ""  # empty: RAY_ADDRESS if set, else an in-process local Ray
    storage: str = "tune"  # Tune experiment folders (resume state, per-trial models)
    best_params: str = "reports/best_params.yaml"


@dataclass(frozen=True)
class PromoteConfig:
    """Champion / challenger promotion in the MLflow model registry (`vreid promote`)."""

    registered_name: str = "vreid"
    # A metric of the evaluation stage (rank1, mAP, mINP, rr_mAP, ...); higher is better.
    metric: str = "mAP"
    # The challenger replaces the champion only when challenger - champion > margin.
    margin: float = 0.0


@dataclass(frozen=True)
class Params:
    data: DataConfig = DataConfig()
    synth: SynthConfig = SynthConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    # The training stages, in run order (name -> StageConfig | ParsingStageConfig).
    stages: dict[str, TrainingStage] = field(default_factory=dict)
    # The stage whose model is evaluated, exported, benchmarked and promoted; "": the last.
    model_stage: str = ""
    eval: EvalConfig = EvalConfig()
    tracking: TrackingConfig = TrackingConfig()
    metadata: MetadataConfig = MetadataConfig()
    export: ExportConfig = ExportConfig()
    benchmark: BenchmarkConfig = BenchmarkConfig()
    tune: TuneConfig = TuneConfig()
    promote: PromoteConfig = PromoteConfig()


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Turn a YAML value into the annotated type (dataclass, tuple, scalar)."""
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return from_dict(tp, value, where)
    origin = getattr(tp, "__origin__", None)
    if origin is Union or isinstance(tp, types.UnionType):
        return _convert(_kind_of(tp.__args__, value, where), value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        (item_tp, *_rest) = tp.__args__
        return tuple(_convert(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        item_tp = tp.__args__[1]
        if item_tp is Any:
            return dict(value)
        return {k: _convert(item_tp, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    if tp is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected int, got {value!r}")
    return value


def _kind_of(classes: tuple[type, ...], value: Any, where: str) -> type:
    """The dataclass of a union whose `kind` default is the mapping's `kind` (default: the
    first class's)."""
    kinds = {c.__dataclass_fields__["kind"].default: c for c in classes}
    kind = value.get("kind", next(iter(kinds))) if isinstance(value, dict) else next(iter(kinds))
    if kind not in kinds:
        raise ConfigError(f"{where}.kind: unknown kind {kind!r}; known: {sorted(kinds)}")
    return kinds[kind]


def check_stages(p: Params, where: str = "params") -> None:
    """The `stages:` table is runnable: every `data` is a dataset key of `data:`, every
    `init_from` names an EARLIER stage (stages run in table order, so no cycles), and
    `model_stage` / `tune.stage` name re-ID stages of the table."""
    datasets = sorted(f.name for f in dataclasses.fields(p.data)
                      if isinstance(getattr(p.data, f.name), DatasetRef))
    earlier: list[str] = []
    for name, stage in p.stages.items():
        at = f"{where}.stages.{name}"
        if stage.data not in datasets:
            raise ConfigError(f"{at}.data: unknown dataset {stage.data!r}; known: {datasets}")
        for kwarg, source in stage.init_from.items():
            if source not in earlier:
                why = ("is the stage itself" if source == name else
                       "comes later in the table (a cycle, or the order is wrong)"
                       if source in p.stages else "is not a stage of the table")
                raise ConfigError(f"{at}.init_from.{kwarg}: {source!r} {why}; a stage starts "
                                  f"only from stages above it: {earlier}")
        earlier.append(name)
    reid = [n for n, s in p.stages.items() if isinstance(s, StageConfig)]
    for key, value in (("model_stage", p.model_stage), ("tune.stage", p.tune.stage)):
        if value and value not in reid:
            raise ConfigError(f"{where}.{key}: {value!r} is not a re-ID stage of the table; "
                              f"known: {reid}")


def from_dict(cls: type, values: dict[str, Any], where: str = "params") -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(names)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{where}: {exc}") from None


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    params = from_dict(Params, raw, str(path))
    check_stages(params, str(path))
    return params


def to_flat_dict(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten a config into dotted keys, for experiment trackers."""
    out: dict[str, Any] = {}
    items = dataclasses.asdict(obj).items() if dataclasses.is_dataclass(obj) else obj.items()
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(to_flat_dict(value, f"{name}."))
        else:
            out[name] = value
    return out


def with_override(obj: Any, path: str, value: Any, where: str = "override") -> Any:
    """A copy of config `obj` with the value at dotted `path` replaced (typed like the field).

    Steps through dataclass fields, tuple items (by index) and existing mapping keys;
    a path that does not exist is a ConfigError naming `where` and the path.
    """
    head, _, rest = path.partition(".")

    def inner(current: Any, tp: Any) -> Any:
        if rest:
            return with_override(current, rest, value, f"{where}.{head}")
        return _convert(tp, value, f"{where}.{head}") if tp is not None else value

    if dataclasses.is_dataclass(obj):
        names = {f.name for f in dataclasses.fields(obj)}
        if head not in names:
            raise ConfigError(f"{where}: no key {head!r}; known: {sorted(names)}")
        new = inner(getattr(obj, head), get_type_hints(type(obj))[head])
        return dataclasses.replace(obj, **{head: new})
    if isinstance(obj, tuple):
        if not head.isdigit() or int(head) >= len(obj):
            raise ConfigError(f"{where}: no item {head!r} in a list of {len(obj)}")
        i = int(head)
        return obj[:i] + (inner(obj[i], None),) + obj[i + 1:]
    if isinstance(obj, dict):
        if head not in obj:
            raise ConfigError(f"{where}: no key {head!r}; known: {sorted(obj)} "
                              "(write the key into params.yaml to tune it)")
        return {**obj, head: inner(obj[head], None)}
    raise ConfigError(f"{where}: {type(obj).__name__} value has no key {head!r}")
