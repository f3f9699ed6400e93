"""Typed configuration: params.yaml is read into these sections in one place.

Every section is a frozen pydantic dataclass (`vreid.schema`): unknown keys, wrong
types and out-of-range values are refused at load with the file and the key's dotted
path, so a typo in params.yaml never silently falls back to a default. Being
dataclasses, sections work with `dataclasses.replace` (which re-validates), `asdict`
and `fields`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin, get_type_hints

import yaml
from pydantic import (AfterValidator, BeforeValidator, Discriminator, Field, Strict, Tag,
                      TypeAdapter, ValidationError)

from .eval.xqda import REGULARISATION as XQDA_REGULARISATION
from .data.frames import ALL_FRAMES, FORMS as FRAMES_FORMS, evenly_count
from .data.synth.config import (
    Difficulty,
    EgoWorldConfig,
    ImageSetConfig,
    TwoCameraSetConfig,
    ParsingSetConfig,
    RenderConfig,
    VideoSetConfig,
)
from .schema import (
    Bool,
    Float,
    Int,
    NonNegFloat,
    NonNegInt,
    PosFloat,
    PosInt,
    Probability,
    Range,
    Str,
    section,
)

Optimizer = Literal["adam", "sgd"]
# torch device strings: auto picks cuda when available
Device = Annotated[str, Field(strict=True, pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")]


class ConfigError(ValueError):
    """params.yaml (or an override) is malformed; the message names the file and key."""


@section
class DatasetRef:
    """A dataset on disk: a reader name and the root folder it reads.

    `union` merges several sets with identity offsets (paper 000 pretrains on ten image
    sets): give `sources`, e.g. `{name: union, sources: [{name: market1501, root: ...},
    {name: mars, root: ...}]}`, and leave `root` empty.
    """

    name: Str
    root: Str = ""
    sources: tuple[DatasetRef, ...] = ()
    # >0: hold this many training identities out as a validation query / gallery
    # (vreid.data.split; the test split is then never read). Set by tuning trials.
    holdout_ids: NonNegInt = 0
    holdout_seed: Int = 0
    # Which train/test split of a small set with several (iLIDS-VID, PRID2011: 0..9);
    # a reader without splits refuses a non-zero one (vreid.pipeline.common).
    split_id: NonNegInt = 0


@section
class DataConfig:
    # Where `prepare` writes the embedded (synthetic) sets.
    synthetic_root: Str = "data/synthetic"
    video: DatasetRef = DatasetRef("mars", "data/synthetic/mars")
    image: DatasetRef = DatasetRef("market1501", "data/synthetic/market1501")
    parsing: DatasetRef = DatasetRef("lip", "data/synthetic/lip")
    # EgoReID layout with sensor metadata (evaluate-metadata)
    egoreid: DatasetRef = DatasetRef("egoreid", "data/synthetic/egoreid")
    # two-camera small sets with 10 train/test splits (DatasetRef.split_id)
    ilids_vid: DatasetRef = DatasetRef("ilids-vid", "data/synthetic/ilids_vid")
    prid2011: DatasetRef = DatasetRef("prid2011", "data/synthetic/prid2011")


@section
class SynthConfig:
    """Sizes and difficulty of the embedded data; passed to `vreid.data.synth`."""

    seed: Int = 0
    render: RenderConfig = RenderConfig()
    difficulty: Difficulty = Difficulty()
    video: VideoSetConfig = VideoSetConfig()
    image: ImageSetConfig = ImageSetConfig()
    parsing: ParsingSetConfig = ParsingSetConfig()
    egoreid: EgoWorldConfig = EgoWorldConfig()
    ilids_vid: TwoCameraSetConfig = TwoCameraSetConfig()
    prid2011: TwoCameraSetConfig = TwoCameraSetConfig()


@section
class ModelConfig:
    name: Str = "resnet_tap"
    kwargs: dict[str, Any] = field(default_factory=dict)


@section
class RandomErasingConfig:
    """Train-time random erasing (Zhong et al.; paper 001's REA) of the normalised frames.

    `per_frame` false: one rectangle, drawn with probability `p`, erased alike in every
    frame of the clip. `per_frame` true: each frame erased on its own draw (probability
    `p`), and the batch gets `erased` [B, T], the erasing-attention loss's labels (paper
    001 eq. 12). `scale` / `ratio`: the rectangle's area fraction / aspect ratio ranges
    (torchvision's defaults); `value`: its fill, in normalised units (0: the mean colour).
    A bare number is shorthand for `{p: number}`.
    """

    p: Probability = 0.0
    per_frame: Bool = False
    scale: Range(Annotated[float, Field(strict=True, gt=0, lt=1)]) = (0.02, 0.33)
    ratio: Range(PosFloat) = (0.3, 3.3)
    value: Float = 0.0


def _erasing_shorthand(value: Any) -> Any:
    """`random_erasing: 0.5` (the key was a bare probability before it was a section)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"p": value}
    return value


@section
class CorruptionConfig:
    """Paper 002's clip corruption (sec. 4.4, table 2; `vreid.data.corruption`): per
    sequence, M_c drawn uniformly in [0, min(max_clips, M)] of its M clips (clips of the
    model's L frames) are downscaled by `factor`, JPEG-compressed at `jpeg_quality` and
    upscaled back, in training and at test. At test the draw is seeded per tracklet from
    `seed`, so every entry scores the same corrupted query and gallery. `max_clips` 0: off.
    `jpeg_quality`: the paper gives none; 75 is libjpeg's and Pillow's default."""

    max_clips: NonNegInt = 0
    factor: Annotated[float, Strict(), Field(ge=1)] = 5.0
    jpeg_quality: Annotated[int, Strict(), Field(ge=1, le=100)] = 75
    seed: Int = 0


@section
class InputConfig:
    height: PosInt = 64
    width: PosInt = 32
    clip_len: PosInt = 4
    # evenly_fixed: the same frames every epoch (torchreid's default, see data.sampling)
    train_sampling: Literal["random", "consecutive", "evenly", "evenly_fixed"] = "random"
    random_erasing: Annotated[RandomErasingConfig, BeforeValidator(_erasing_shorthand)] = (
        RandomErasingConfig())
    flip: Probability = 0.5
    pad: NonNegInt = 4
    corruption: CorruptionConfig = CorruptionConfig()


@section
class LossTerm:
    name: Str
    weight: Float = 1.0
    kwargs: dict[str, Any] = field(default_factory=dict)


@section
class KMeansInitConfig:
    """Paper 003 sec. III-C step 1: "initialize ... the PersonVLAD cluster centers": the
    model's NetVLAD centres (and the assignment derived from them, eq. 5) set to the
    k-means centres of the descriptors it sees on `batches` training batches (0: one
    epoch's), k-means++ seeded by `train.seed`, then `iterations` Lloyd iterations
    (`vreid.engine.cluster_init`). Only when a run starts, never when it resumes. A bare
    true / false is shorthand for `{enabled: ...}`."""

    enabled: Bool = False
    batches: NonNegInt = 0
    iterations: PosInt = 20


def _enabled_shorthand(value: Any) -> Any:
    return {"enabled": value} if isinstance(value, bool) else value


@section
class FreezeConfig:
    """Model parameters (fnmatch patterns of their names, e.g. "vlad.*") that get no
    gradient in the first `epochs` epochs and train jointly after (paper 003 sec. III-C:
    step 1 fixes the centres, step 2 fine-tunes them; step 2's lower rate is a
    `milestones` entry at `epochs`). A pattern matching no parameter is an error."""

    params: tuple[Str, ...] = ()
    epochs: NonNegInt = 0


@section
class TrainConfig:
    seed: Int = 0
    epochs: NonNegInt = 16  # 0: write the initialised model
    # Batch sampler. identity: PK batches (ids_per_batch x instances_per_id); random:
    # batches of P*K items drawn uniformly over the training tracklets (the established
    # library's RandomSampler); auto: identity when a loss needs it (batch-hard triplet),
    # random otherwise. Why auto (issue 17): softmax-only training on PK batches of few
    # identities barely learns (4 ids x 4 clips: 5% training accuracy after 10 epochs, 8x2:
    # 48%, 16x1: 75%), because every batch-norm statistic is then taken over P people.
    sampler: Literal["auto", "identity", "random"] = "auto"
    ids_per_batch: PosInt = 8  # P of the PK sampler
    instances_per_id: PosInt = 4  # K of the PK sampler
    iters_per_epoch: NonNegInt = 0  # 0: one pass over the identities
    optimizer: Optimizer = "adam"
    lr: PosFloat = 1e-3
    weight_decay: NonNegFloat = 5e-4
    momentum: Probability = 0.9
    # Adam's epsilon (torch's default); paper 003 sec. III-C: 1e-4 for its L2-normalised output
    adam_eps: PosFloat = 1e-8
    warmup_epochs: NonNegInt = 2
    warmup_factor: PosFloat = 0.1
    milestones: tuple[NonNegInt, ...] = (12,)
    gamma: PosFloat = 0.1
    losses: tuple[LossTerm, ...] = (
        LossTerm("cross_entropy", 1.0, {"label_smoothing": 0.1}),
        LossTerm("triplet", 1.0, {"margin": 0.3}),
    )
    # paper 003's two-step training (sec. III-C): k-means centres, fixed for a while
    kmeans_init: Annotated[KMeansInitConfig, BeforeValidator(_enabled_shorthand)] = (
        KMeansInitConfig())
    freeze: FreezeConfig = FreezeConfig()


@section
class StageConfig:
    """One re-ID training stage of the `stages:` table: which model, on what input, trained
    how, on which dataset (`data`: a key of the `data:` section), and which of its model
    kwargs are earlier stages' model files (`init_from`: kwarg -> stage name, resolved to
    `models/<stage>/model.pt` by `vreid.pipeline.stages.resolve_stage`)."""

    kind: Literal["reid"] = "reid"
    data: Str = "video"
    init_from: dict[Str, Str] = field(default_factory=dict)
    model: ModelConfig = ModelConfig()
    input: InputConfig = InputConfig()
    train: TrainConfig = TrainConfig()


@section
class RuntimeConfig:
    """Where and how fast things run; never changes results' meaning (not fingerprinted)."""

    device: Device = "auto"
    threads: NonNegInt = 0  # 0: torch's default
    num_workers: NonNegInt = 0
    amp: Bool = False
    # MiB for the memo of frozen per-frame outputs (vreid.models.frame_memo; 0: off):
    # EgoReID's video stage and the leaderboard entries that share its frozen trunk
    frame_memo_mb: NonNegInt = 0


@section
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
    height: PosInt = 96
    width: PosInt = 48
    flip: Probability = 0.5
    epochs: NonNegInt = 15  # 0: write the initialised model
    batch_size: PosInt = 8
    eval_batch_size: PosInt = 16
    optimizer: Optimizer = "adam"  # sgd: Nesterov, appendix D
    lr: PosFloat = 0.003
    head_lr_mult: PosFloat = 3.0  # ASPP + classifier lr = lr * this (paper: 10)
    momentum: Probability = 0.9
    weight_decay: NonNegFloat = 5e-4
    warmup_epochs: NonNegInt = 1
    warmup_factor: PosFloat = 0.1
    milestones: tuple[NonNegInt, ...] = (12,)
    gamma: PosFloat = 0.1
    seed: Int = 0


@section
class ParsingStageConfig(ParsingTrainConfig):
    """A human-parser training stage of the `stages:` table (`kind: parsing`): the parser
    settings above, on a parsing set (`data`); `init_from` fills keys of `model`."""

    kind: Literal["parsing"] = "parsing"
    data: Str = "parsing"
    init_from: dict[Str, Str] = field(default_factory=dict)


def _stage_kind(value: Any) -> str:
    """An entry's `kind` (a mapping from YAML or a built section); default: re-ID."""
    return value.get("kind", "reid") if isinstance(value, dict) else getattr(value, "kind", "reid")


# The kinds of training stage; an entry's `kind` picks its class (default: reid).
TrainingStage = Annotated[
    Union[Annotated[StageConfig, Tag("reid")], Annotated[ParsingStageConfig, Tag("parsing")]],
    Discriminator(_stage_kind)]


@section
class RerankConfig:
    """k-reciprocal re-ranking (Zhong et al., 2017); reported beside the plain ranking."""

    enabled: Bool = True
    k1: PosInt = 20
    k2: PosInt = 6
    lambda_value: Probability = 0.3


@section
class EcnConfig:
    """ECN re-ranking (Sarfraz et al., CVPR 2018; paper 000's "+RR", its ref. [42]), reported
    beside the plain ranking with the prefix ecn_ (vreid.eval.ecn explains). t: first
    neighbours, q: their neighbours, method: rankdist (rank-list distance over the top k,
    the authors' default) or origdist (the evaluation distances). Defaults: the authors'."""

    enabled: Bool = False
    t: PosInt = 3
    q: NonNegInt = 8
    method: Literal["rankdist", "origdist"] = "rankdist"
    k: PosInt = 25


def _frames_protocol(value: str) -> str:
    try:
        evenly_count(value)
    except ValueError:  # the config's message adds the key and the value itself
        raise ValueError(FRAMES_FORMS) from None
    return value


# "all" | "evenly:N": which frames of a test tracklet are scored (vreid.data.frames)
FramesProtocol = Annotated[Str, AfterValidator(_frames_protocol)]


@section
class XqdaConfig:
    """XQDA (Liao et al. CVPR'15; paper 003 table IX "PersonVLAD + XQDA"), fitted on the
    embeddings of the scored set's training tracklets and their identities
    (`vreid.eval.xqda`). dims: the subspace dimension r (null: the number of generalised
    eigenvalues > 1, Liao et al.'s choice); regularisation: lambda added to Sigma_I."""

    dims: Optional[PosInt] = None
    regularisation: PosFloat = XQDA_REGULARISATION


@section
class EvalConfig:
    batch_size: PosInt = 32
    metric: Literal["euclidean", "cosine"] = "euclidean"
    # how query and gallery vectors compare: distance = `metric`; xqda = the metric fitted
    # on the training tracklets' vectors (`xqda`; vector models only, not clip_set ones)
    scorer: Literal["distance", "xqda"] = "distance"
    xqda: XqdaConfig = XqdaConfig()
    max_rank: PosInt = 50
    ranks: tuple[PosInt, ...] = (1, 5, 10, 20)
    rerank: RerankConfig = RerankConfig()
    ecn: EcnConfig = EcnConfig()
    untrained_baseline: Bool = True
    # all: every frame in clips of the model's clip length, clip embeddings averaged (ours);
    # evenly:N: one clip of N evenly spaced frames per tracklet (torchreid's test protocol)
    frames: FramesProtocol = ALL_FRAMES
    # attribute-wise rank-1 / mAP (attr_<name>_*, paper 004 table 7) of the plain ranking,
    # when the scored set has <root>/attributes.csv (vreid.data.readers.attributes)
    attributes: Bool = True


@section
class TrackingConfig:
    experiment: Str = "vreid"
    # Empty: MLFLOW_TRACKING_URI if set, else sqlite:///mlflow.db at the repo root.
    tracking_uri: Str = ""
    log_model: Bool = True


@section
class MetadataConfig:
    """Sensor-metadata pruning (paper 000 sec. 5, eq. 1-2; vreid.eval.metadata explains).

    range_m: subtracted from the camera distance before eq. 1 (a phone sees a person
    before reaching it; a target walking away leaves the view ahead of the camera); 0 is
    the paper's formula. The default covers the embedded world's 12 m view range twice
    plus the walkway's width. on_missing: error | skip (no pruning for that query).
    """

    target_speed: PosFloat = 1.3
    tolerance_deg: Annotated[float, Field(strict=True, ge=0, le=180)] = 45.0
    range_m: NonNegFloat = 30.0
    slack_s: NonNegFloat = 0.0
    max_gap_s: PosFloat = 1.0
    on_missing: Literal["error", "skip"] = "error"


@section
class ExportConfig:
    """ONNX export of the trained model (and a TensorRT engine where TensorRT can run)."""

    opset: PosInt = 18
    # example batch traced (>= 2: torch.export specialises 0/1); the batch axis is dynamic
    export_batch: Annotated[int, Field(strict=True, ge=2)] = 2
    parity_batch_sizes: tuple[PosInt, ...] = (1, 3)  # ORT vs torch, at batches != export_batch
    tolerance: Float = 1e-4  # max |torch - ORT| (fp32); above it the export fails
    tensorrt: Bool = True  # build models/export/model.engine when TensorRT and a GPU exist
    tensorrt_fp16: Bool = True  # TensorRT 10.x only (11.x is strongly typed: fp32 graph)
    tensorrt_batch_sizes: tuple[PosInt, ...] = (1, 8, 32)  # optimisation profile min/opt/max


@section
class BenchmarkConfig:
    """Inference throughput / latency per backend (vreid.export.benchmark.BACKENDS)."""

    batch_sizes: tuple[PosInt, ...] = (1, 8, 32)
    warmup: NonNegInt = 1  # untimed calls per backend and batch size
    iterations: PosInt = 3  # timed calls per backend and batch size
    backends: tuple[Str, ...] = ("torch_eager", "ort_cpu", "ort_cuda", "tensorrt")
    threads: NonNegInt = 0  # torch and ORT intra-op threads; 0: runtime.threads, else the default
    ort_optimization: Str = "all"  # disable | basic | extended | all (checked by benchmark())


@section
class SearchDim:
    """One tuned hyper-parameter: a dotted path into the tuned stage and its distribution.

    `path` addresses the stage config (`train.lr`, `input.clip_len`, list items by index:
    `train.losses.0.kwargs.label_smoothing`); kind: loguniform | uniform (low, high),
    randint (low <= n < high), choice (values).
    """

    path: Str
    kind: Literal["loguniform", "uniform", "randint", "choice"]
    low: Float = 0.0
    high: Float = 0.0
    values: tuple[Any, ...] = ()


@section
class TuneConfig:
    """Ray Tune search over one training stage (vreid.hpo); tiny default budget."""

    stage: Str = ""  # a re-ID stage of the `stages:` table; "": the model stage
    space: tuple[SearchDim, ...] = ()
    num_samples: PosInt = 2
    epochs: PosInt = 1  # per trial (overrides the stage's train.epochs); ASHA's max_t
    iters_per_epoch: NonNegInt = 0  # >0 overrides the stage's train.iters_per_epoch
    metric: Str = "mAP"  # validation metric maximised (rank1, mAP, mINP, ...)
    holdout_ids: PosInt = 10  # training identities held out as the validation split
    holdout_seed: Int = 0
    grace_period: PosInt = 1  # ASHA: epochs before a trial may be stopped
    reduction_factor: Annotated[int, Field(strict=True, ge=2)] = 2
    searcher: Literal["random", "optuna"] = "random"  # random: Tune's variant generator
    seed: Int = 0
    cpus_per_trial: PosFloat = 1.0
    threads_per_trial: PosInt = 1
    max_concurrent: PosInt = 2
    address: Str = ""  # empty: RAY_ADDRESS if set, else an in-process local Ray
    storage: Str = "tune"  # Tune experiment folders (resume state, per-trial models)
    best_params: Str = "reports/best_params.yaml"


@section
class PromoteConfig:
    """Champion / challenger promotion in the MLflow model registry (`vreid promote`)."""

    registered_name: Str = "vreid"
    # A metric of the evaluation stage (rank1, mAP, mINP, rr_mAP, ...); higher is better.
    metric: Str = "mAP"
    # The challenger replaces the champion only when challenger - champion > margin.
    margin: Float = 0.0


@section
class LeaderboardConfig:
    """`vreid leaderboard`: named entries (configs/leaderboard/*.yaml, one training stage
    each) trained for each seed, scored on `data`, with bootstrap intervals over queries
    and seeds and each entry's paired difference to `reference` (vreid.pipeline.leaderboard)."""

    entries: tuple[Str, ...] = ("configs/leaderboard/*.yaml",)  # entry files or globs
    seeds: tuple[Int, ...] = (0, 1, 2)  # train.seed of each run of an entry
    reference: Str = ""  # the entry the others are compared to; "": the first entry
    data: Str = "video"  # a key of `data:`: the query / gallery every entry is scored on
    bootstrap_samples: PosInt = 1000
    bootstrap_seed: Int = 0
    address: Str = ""  # a Ray cluster (ray://host:10001 or host:6379); "": sequential
    cpus_per_job: PosFloat = 1.0  # Ray: CPUs reserved per (entry, seed) job
    out_dir: Str = "leaderboard/runs"  # <entry>/seed<k>/: model, checkpoints, result.json
    # power calculation (vreid.eval.power): queries needed for a paired rank-1 difference
    # interval of this half-width (issue 12: +-3 points) with this many seeds
    target_half_width: Probability = 0.03
    # `data` with several train/test splits (iLIDS-VID, PRID2011): each entry trains and is
    # scored on the first `splits` of them (0: all), per-query values pooled over splits
    splits: NonNegInt = 0


@section
class PublishedResult:
    """Figures a paper reports for an entry (rank-1 / mAP in percent), shown beside ours."""

    source: Str
    rank1: Float
    mAP: Float


@section
class Claim:
    """A direction a paper claims: this entry beats `beats` (another entry's name). The
    leaderboard tests it on rank-1 and mAP with the paired difference's interval:
    reproduced (the CI excludes 0, same sign), contradicted (excludes 0, opposite sign),
    inconclusive (includes 0). The paper's own difference comes from both entries'
    `paper` figures when both have them."""

    beats: Str
    source: Str = ""  # where the paper claims it, e.g. "paper 000 table 2"


@section
class LeaderboardEntry:
    """One file of configs/leaderboard/: `stage` names a re-ID stage of the `stages:`
    table, changed by `overrides` (dotted path -> value, e.g. `model.kwargs.regions`), or
    is a full stage mapping (a StageConfig; its `init_from` names stages of the table)."""

    name: Str
    stage: Union[Str, dict[Str, Any]]
    description: Str = ""
    overrides: dict[Str, Any] = field(default_factory=dict)
    # the params' `eval` section changed for this entry's scoring (dotted path -> value,
    # e.g. `scorer: xqda`, paper 003 table IX); part of the entry's run fingerprint
    eval: dict[Str, Any] = field(default_factory=dict)
    paper: PublishedResult | None = None
    claims: tuple[Claim, ...] = ()  # directions the paper claims for this entry


@section
class Params:
    data: DataConfig = DataConfig()
    synth: SynthConfig = SynthConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    # The training stages, in run order (name -> StageConfig | ParsingStageConfig).
    stages: dict[Str, TrainingStage] = field(default_factory=dict)
    # The stage whose model is evaluated, exported, benchmarked and promoted; "": the last
    # re-ID stage of the table.
    model_stage: Str = ""
    eval: EvalConfig = EvalConfig()
    tracking: TrackingConfig = TrackingConfig()
    metadata: MetadataConfig = MetadataConfig()
    export: ExportConfig = ExportConfig()
    benchmark: BenchmarkConfig = BenchmarkConfig()
    tune: TuneConfig = TuneConfig()
    promote: PromoteConfig = PromoteConfig()
    leaderboard: LeaderboardConfig = LeaderboardConfig()



STAGE_KINDS = ("reid", "parsing")  # the tags of TrainingStage; pydantic puts them in `loc`


def _field_names(cls: Any, loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section found at `loc` under `cls` ([] if it is not one)."""
    tp = cls
    for part in loc:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        if get_origin(tp) is Union:  # a tagged union: `part` is the tag
            tp = {get_args(a)[1].tag: get_args(a)[0] for a in get_args(tp)}.get(part)
        elif isinstance(part, int) and get_origin(tp) is tuple:
            tp = get_args(tp)[0]
        elif isinstance(part, str) and get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif isinstance(part, str) and dataclasses.is_dataclass(tp):
            tp = get_type_hints(tp, include_extras=True).get(part)
        else:
            return []
    if get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return [f.name for f in dataclasses.fields(tp)] if dataclasses.is_dataclass(tp) else []


def _shown(loc: tuple[Any, ...]) -> str:
    """The dotted key of `loc`, without the stage-kind tag pydantic inserts in the table."""
    parts = [p for i, p in enumerate(loc)
             if not (i == 2 and loc[0] == "stages" and p in STAGE_KINDS)]
    return ".".join(str(p) for p in parts)


def _problems(exc: ValidationError, cls: type, where: str, sep: str) -> ConfigError:
    """One line per problem: `where` + the key's dotted path + what is wrong with it."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
            msg = f"unknown key; known: {', '.join(_field_names(cls, loc[:-1]))}"
        elif err["type"] == "union_tag_invalid":
            loc += ("kind",)
            msg = f"unknown kind {err['ctx']['tag']!r}; known: {', '.join(STAGE_KINDS)}"
        elif err["type"] != "missing" and not isinstance(err["input"], (dict, list, tuple)):
            msg += f", got {err['input']!r}"
        path = _shown(loc)
        lines.append(f"{where}{sep}{path}: {msg}" if path else f"{where}: {msg}")
    return ConfigError("\n".join(lines))


def from_dict(cls: type, values: Any, where: str = "params", sep: str = ": ") -> Any:
    """Section `cls` from a (YAML) mapping; a ConfigError names `where` and each bad key
    (`where` + `sep` + the key's dotted path)."""
    try:
        return TypeAdapter(cls).validate_python(values)
    except ValidationError as exc:
        raise _problems(exc, cls, where, sep) from None


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content; a missing file or bad YAML is a ConfigError naming the file."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    raw = read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    params = from_dict(Params, raw, str(path))
    check_stages(params, str(path))
    return params


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
    lb = p.leaderboard
    if lb.data not in datasets:
        raise ConfigError(f"{where}.leaderboard.data: unknown dataset {lb.data!r}; "
                          f"known: {datasets}")
    if not lb.seeds or len(set(lb.seeds)) != len(lb.seeds):
        raise ConfigError(f"{where}.leaderboard.seeds: give distinct seeds, got {list(lb.seeds)}")


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


def with_override(obj: Any, path: str, value: Any, where: str = "override",
                  new_keys: bool = False) -> Any:
    """A copy of config `obj` with the value at dotted `path` replaced (typed like the field).

    Steps through section fields, tuple items (by index) and existing mapping keys (with
    `new_keys`, a missing last key of a mapping is added, e.g. a model kwarg left at its
    default in params.yaml); the section holding the change is re-validated. A path that
    does not exist, or a value its field refuses, is a ConfigError naming `where` and the path.
    """
    head, _, rest = path.partition(".")

    def inner(current: Any) -> Any:
        return (with_override(current, rest, value, f"{where}.{head}", new_keys) if rest
                else value)

    if dataclasses.is_dataclass(obj):
        names = {f.name for f in dataclasses.fields(obj)}
        if head not in names:
            raise ConfigError(f"{where}: no key {head!r}; known: {sorted(names)}")
        try:
            return dataclasses.replace(obj, **{head: inner(getattr(obj, head))})
        except ValidationError as exc:
            raise _problems(exc, type(obj), where, ".") from None
    if isinstance(obj, tuple):
        if not head.isdigit() or int(head) >= len(obj):
            raise ConfigError(f"{where}: no item {head!r} in a list of {len(obj)}")
        i = int(head)
        return obj[:i] + (inner(obj[i]),) + obj[i + 1:]
    if isinstance(obj, dict):
        if new_keys and not rest and head not in obj:
            return {**obj, head: value}
        if head not in obj:
            raise ConfigError(f"{where}: no key {head!r}; known: {sorted(obj)} "
                              "(write the key into params.yaml to tune it)")
        return {**obj, head: inner(obj[head])}
    raise ConfigError(f"{where}: {type(obj).__name__} value has no key {head!r}")
