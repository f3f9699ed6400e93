"""EgoReID (paper 000, sec. 4): human-parsing regions + per-region 3D-conv video module.

Two registered models share the frame level (sec. 4.1-4.2):
- `egoreid_frame`: frame CNN + frozen parser; per frame, the feature maps are pooled
  under each region mask (foreground, upper body, lower body) and globally, and the
  vectors are averaged over the clip; one classifier per region (sec. 4.2: "train a
  separate classifier for each body region", unlike SPReID's single one). It is the
  image model of the training chain's image pretraining and fine-tuning steps, and the
  frame-average (SPReID-style) baseline of the paper's table 3.
- `egoreid`: the full video model (sec. 4.3): region feature-map sequences -> per-region
  3D-conv module (multi-scale) -> shared feature weighting -> GAP x weight; one
  classifier per region; plus the global feature Gf (average of the frame feature
  maps, GAP).

Both train with `region_cross_entropy` on `region_logits` [R, B, C] (sec. 6.1: "the
average of three losses"); the global feature has no classifier (the paper gives one
to each body region only). Test embedding (`region_embedding`): each region vector
L2-normalised, then scaled by its learned weight (video model with `use_weights`),
concatenated with the L2-normalised Gf.

Frame maps are upsampled (bilinear) to the size of the segmentation maps (sec. 4.1:
features "scaled up to the size of the segmentation maps"): `upsample="parser"` takes
the parser's own map size (its OS16 map at `parser_size`; the paper profile, with an
OS32 frame extractor); an integer takes that multiple of the frame map and resizes the
parser's masks (area) to it (the CPU profile).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.regions import REGION_NAMES, region_masks_from_logits
from ..engine.checkpoint import load_state_dict
from .backbones import BACKBONES
from .frame_memo import FRAME_MEMO, module_digest, state_version
from .parsing import build_parsing_net
from .region_video import FeatureWeighting, RegionVideoModule
from .registry import MODELS, ModelInfo

REGION_ALIASES = {"fg": "foreground", "ub": "upper_body", "lb": "lower_body"}


def _region_indices(regions: Sequence[str]) -> list[int]:
    names = [REGION_ALIASES.get(r, r) for r in regions]
    unknown = [n for n in names if n not in REGION_NAMES]
    if unknown or not names:
        raise ValueError(f"regions must be a non-empty subset of {REGION_NAMES} "
                         f"(or fg/ub/lb), got {list(regions)}")
    return [REGION_NAMES.index(n) for n in names]


def _load_part(module: nn.Module, path: str, prefix: str, what: str) -> None:
    """Load `prefix`-ed tensors of a vreid model file into `module` (weights only)."""
    state = load_state_dict(path)
    part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not part:
        raise ValueError(f"{path}: no '{prefix}*' weights for the {what}")
    try:
        module.load_state_dict(part)
    except RuntimeError as exc:
        raise ValueError(f"{path}: {what} weights do not fit the configured {what} ({exc})") from None


def _freeze(module: nn.Module) -> None:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)


# `upsample` value: frame maps resized to the parser's own (OS16) map size.
UPSAMPLE_TO_PARSER = "parser"


def _checked_upsample(upsample: int | str) -> int | str:
    if upsample == UPSAMPLE_TO_PARSER:
        return upsample
    if isinstance(upsample, bool) or not isinstance(upsample, int) or upsample < 1:
        raise ValueError(f"upsample must be a positive integer factor or "
                         f"{UPSAMPLE_TO_PARSER!r} (the parser's map size), got {upsample!r}")
    return upsample


def _exporting() -> bool:
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


class ParsedFrames(nn.Module):
    """Frame feature maps and parser region masks at a common (upsampled) size."""

    def __init__(self, extractor: nn.Module, parser: nn.Module, regions: Sequence[str],
                 upsample: int | str, freeze_extractor: bool,
                 parser_size: Sequence[int] | None = None) -> None:
        super().__init__()
        self.extractor, self.parser = extractor, parser
        # the parser sees frames at the size it was trained at (LIP stage's height x width)
        self.parser_size = tuple(parser_size) if parser_size else None
        self.region_index = _region_indices(regions)
        self.upsample = _checked_upsample(upsample)
        self.freeze_extractor = freeze_extractor
        self._memo_keys: dict[str, tuple] = {}  # part -> (state version, weights digest)
        _freeze(self.parser)  # trained on LIP first, frozen for the rest (sec. 6.1)
        if freeze_extractor:
            _freeze(self.extractor)

    def train(self, mode: bool = True) -> "ParsedFrames":
        super().train(mode)
        self.parser.eval()  # frozen modules keep their BatchNorm statistics
        if self.freeze_extractor:
            self.extractor.eval()
        return self

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """frames [N, 3, H, W] -> (maps [N, C, h, w], up-maps [N, C, s, s'], masks [N, R, s, s']).

        With the frame memo on (vreid.models.frame_memo), the parser's masks (the parser
        is always frozen) and, when it is frozen too, the extractor's maps come from it.
        """
        memo = FRAME_MEMO.enabled and not _exporting()
        if memo and self.freeze_extractor:
            (maps,) = FRAME_MEMO(self._memo_owner("extractor"), frames, self._maps)
        else:
            (maps,) = self._maps(frames)
        size = None if self.upsample == UPSAMPLE_TO_PARSER else (
            maps.shape[-2] * self.upsample, maps.shape[-1] * self.upsample)
        masks_of = functools.partial(self._masks, size=size)
        if memo:
            (masks,) = FRAME_MEMO(self._memo_owner("parser", size), frames, masks_of)
        else:
            (masks,) = masks_of(frames)
        up = F.interpolate(maps, size=tuple(masks.shape[-2:]), mode="bilinear",
                           align_corners=False)
        return maps, up, masks[:, self.region_index]

    def _maps(self, frames: torch.Tensor) -> tuple[torch.Tensor]:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_extractor):
            return (self.extractor(frames),)

    @torch.no_grad()
    def _masks(self, frames: torch.Tensor, size: tuple[int, int] | None) -> tuple[torch.Tensor]:
        """Every region's mask [N, R_all, s, s']: at the parser's own map size (`size`
        None), or resized (area) to `size`."""
        parser_in = frames
        if self.parser_size and tuple(frames.shape[-2:]) != self.parser_size:
            parser_in = F.interpolate(frames, size=self.parser_size, mode="bilinear",
                                      align_corners=False)
        if size is None:  # the segmentation maps' own size
            return (region_masks_from_logits(self.parser.map_logits(parser_in)),)
        return (F.interpolate(region_masks_from_logits(self.parser(parser_in)), size=size,
                              mode="area"),)

    def _memo_owner(self, part: str, *extra: Any) -> bytes:
        """The frozen part's weights digest (recomputed only when a tensor of it changed),
        with what else its output depends on."""
        module = self.extractor if part == "extractor" else self.parser
        version = state_version((module,))
        cached = self._memo_keys.get(part)
        if cached is None or cached[0] != version:
            cached = (version, module_digest((module,), f"{part}:{self.parser_size}"))
            self._memo_keys[part] = cached
        return cached[1] + repr(extra).encode()


def masked_average(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Region pooling: [N, C, h, w] x [N, R, h, w] -> [N, R, C] mask-weighted means."""
    weights = masks / masks.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    return torch.einsum("nchw,nrhw->nrc", maps, weights)


def region_embedding(region_vectors: Sequence[torch.Tensor],
                     region_weights: Sequence[torch.Tensor] | None,
                     global_vector: torch.Tensor | None) -> torch.Tensor:
    """The test embedding: [B, C] region vectors -> [B, R*C (+ C_g)].

    Each region vector is L2-normalised FIRST, then scaled by its learned weight [B, 1]
    (if given), then concatenated with the L2-normalised global vector. Paper 000
    sec. 6.1: "We then construct feature vectors from these tensors by applying GAP and
    then scale them using their corresponding weights" (also sec. 4.3, fig. 3 and 4).
    Normalising after the weighting would cancel the per-sample weight (a scalar per
    vector): normalising before keeps the regions on one scale and leaves the weights as
    the only per-region scale of the distance.
    """
    parts = [F.normalize(v, dim=1) for v in region_vectors]
    if region_weights is not None:
        parts = [p * w for p, w in zip(parts, region_weights)]
    if global_vector is not None:
        parts.append(F.normalize(global_vector, dim=1))
    return torch.cat(parts, dim=1)


def _region_heads(n_regions: int, dim: int,
                  num_classes: int) -> tuple[nn.ModuleList, nn.ModuleList]:
    """Per region: a BatchNorm and its own classifier (sec. 4.2, sec. 4.3: soft-max
    layers "that do not share weights")."""
    return (nn.ModuleList(nn.BatchNorm1d(dim) for _ in range(n_regions)),
            nn.ModuleList(nn.Linear(dim, num_classes) for _ in range(n_regions)))


def _training_outputs(embedding: torch.Tensor, features: Sequence[torch.Tensor],
                      bns: nn.ModuleList, classifiers: nn.ModuleList) -> dict[str, torch.Tensor]:
    """Train-mode outputs: region logits [R, B, C] (one classifier per region feature)."""
    region_logits = torch.stack([c(bn(f)) for f, bn, c in zip(features, bns, classifiers)])
    return {"embedding": embedding, "region_logits": region_logits,
            "logits": region_logits.mean(dim=0),  # the regions' vote, for accuracy
            "features": torch.cat(list(features), dim=1)}


class EgoReIDFrameModel(nn.Module):
    """Per-frame region + global pooling, averaged over the clip; one classifier per region."""

    def __init__(self, frames: ParsedFrames, num_classes: int, use_global: bool = True) -> None:
        super().__init__()
        self.frames = frames
        self.use_global = use_global
        channels = frames.extractor.out_channels
        self.region_bn, self.classifiers = _region_heads(len(frames.region_index), channels,
                                                         num_classes)

    def forward(self, clips: torch.Tensor) -> Any:
        b, t = clips.shape[:2]
        maps, up, masks = self.frames(clips.flatten(0, 1))
        pooled = masked_average(up, masks)  # [B*T, R, C]
        regions = list(pooled.view(b, t, *pooled.shape[1:]).mean(dim=1).unbind(1))
        global_vector = (maps.mean(dim=(2, 3)).view(b, t, -1).mean(dim=1)
                         if self.use_global else None)
        embedding = region_embedding(regions, None, global_vector)
        if not self.training:
            return embedding
        return _training_outputs(embedding, regions, self.region_bn, self.classifiers)


class EgoReIDVideoModel(nn.Module):
    """The full EgoReID video model (sec. 4.3); see the module docstring."""

    def __init__(self, frames: ParsedFrames, num_classes: int, channels: int,
                 num_blocks: int, temporal_kernel: int, temporal_stride: int,
                 multi_scale: bool, use_weights: bool, use_global: bool) -> None:
        super().__init__()
        self.frames = frames
        in_ch = frames.extractor.out_channels
        n_regions = len(frames.region_index)
        self.video = nn.ModuleList(  # weights not shared across regions
            RegionVideoModule(in_ch, channels, num_blocks, temporal_kernel, temporal_stride,
                              multi_scale) for _ in range(n_regions))
        out_ch = self.video[0].out_channels
        self.weighting = FeatureWeighting(out_ch) if use_weights else None  # shared
        self.region_bn, self.classifiers = _region_heads(n_regions, out_ch, num_classes)
        self.use_global = use_global

    def forward(self, clips: torch.Tensor) -> Any:
        b, t = clips.shape[:2]
        maps, up, masks = self.frames(clips.flatten(0, 1))
        pooled, weights, features = [], [], []
        for r, video in enumerate(self.video):
            seq = (up * masks[:, r : r + 1]).view(b, t, *up.shape[1:]).transpose(1, 2)
            fmap = video(seq)  # [B, C', s, s']
            vec = fmap.mean(dim=(2, 3))  # GAP
            pooled.append(vec)
            if self.weighting is not None:
                weights.append(self.weighting(fmap))  # [B, 1], this region's learned weight
                vec = vec * weights[-1]  # "scale them using their corresponding weights"
            features.append(vec)  # what the region's classifier sees
        global_vector = (maps.view(b, t, *maps.shape[1:]).mean(dim=(1, 3, 4))  # Gf
                         if self.use_global else None)
        embedding = region_embedding(pooled, weights if self.weighting is not None else None,
                                     global_vector)
        if not self.training:
            return embedding
        return _training_outputs(embedding, features, self.region_bn, self.classifiers)


def _parsed_frames(backbone: dict | None, parser: dict | None, regions: Sequence[str],
                   upsample: int | str, freeze_extractor: bool, extractor_checkpoint: str | None,
                   parser_checkpoint: str | None, extractor_prefix: str,
                   parser_size: Sequence[int] | None) -> ParsedFrames:
    backbone = dict(backbone or {"name": "resnet", "depth": 18, "last_stride": 1})
    extractor = BACKBONES.get(backbone.pop("name", "resnet"))(**backbone)
    parser_net = build_parsing_net(**dict(parser or {}))
    if parser_checkpoint:
        _load_part(parser_net, parser_checkpoint, "", "parser")
    if extractor_checkpoint:
        _load_part(extractor, extractor_checkpoint, extractor_prefix, "frame extractor")
    return ParsedFrames(extractor, parser_net, regions, upsample, freeze_extractor, parser_size)


# Prefix of the frame extractor's weights inside an `egoreid_frame` model file.
FRAME_EXTRACTOR_PREFIX = "frames.extractor."


@MODELS.register("egoreid_frame", info=ModelInfo(tiny_kwargs={
    "num_classes": 5, "parser": MODELS.info("parsing_net").tiny_kwargs}))
def build_egoreid_frame(
    num_classes: int,
    backbone: dict | None = None,
    parser: dict | None = None,
    regions: Sequence[str] = ("fg", "ub", "lb"),
    use_global: bool = True,
    upsample: int | str = 2,
    parser_size: Sequence[int] | None = None,
    parser_checkpoint: str | None = None,
    extractor_checkpoint: str | None = None,
) -> EgoReIDFrameModel:
    """Image pretraining / fine-tuning model and the frame-average baseline (table 3).

    `backbone`: BACKBONES name + kwargs of the frame extractor; `parser`: ParsingNet
    kwargs; `*_checkpoint`: vreid model files of earlier stages (parser frozen);
    `upsample`: an integer factor or "parser" (see the module docstring).
    """
    frames = _parsed_frames(backbone, parser, regions, upsample, False, extractor_checkpoint,
                            parser_checkpoint, FRAME_EXTRACTOR_PREFIX, parser_size)
    return EgoReIDFrameModel(frames, num_classes, use_global)


@MODELS.register("egoreid", info=ModelInfo(tiny_kwargs={
    "num_classes": 5, "parser": MODELS.info("parsing_net").tiny_kwargs, "channels": 16}))
def build_egoreid(
    num_classes: int,
    backbone: dict | None = None,
    parser: dict | None = None,
    regions: Sequence[str] = ("fg", "ub", "lb"),
    use_global: bool = True,
    use_weights: bool = True,
    multi_scale: bool = True,
    channels: int = 256,
    num_blocks: int = 3,
    temporal_kernel: int = 3,
    temporal_stride: int = 2,
    upsample: int | str = 2,
    parser_size: Sequence[int] | None = None,
    freeze_extractor: bool = True,
    parser_checkpoint: str | None = None,
    extractor_checkpoint: str | None = None,
) -> EgoReIDVideoModel:
    """The EgoReID video model; ablations (tables 2 and 4) are these keyword switches."""
    frames = _parsed_frames(backbone, parser, regions, upsample, freeze_extractor,
                            extractor_checkpoint, parser_checkpoint, FRAME_EXTRACTOR_PREFIX,
                            parser_size)
    return EgoReIDVideoModel(frames, num_classes, channels, num_blocks, temporal_kernel,
                             temporal_stride, multi_scale, use_weights, use_global)
