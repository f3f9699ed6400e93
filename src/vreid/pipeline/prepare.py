"""The prepare stage: write the embedded (synthetic) sets in the real layouts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Params
from ..data import synth


@dataclass
class PrepareOutput:
    root: Path
    counts: dict[str, dict]


def prepare(params: Params) -> PrepareOutput:
    """MARS-, Market-1501-, LIP- and EgoReID-layout sets under `data.synthetic_root`.

    Each writer replaces its folder atomically, so a failure keeps the previous data.
    """
    s = params.synth
    root = Path(params.data.synthetic_root)
    counts = {
        "mars": synth.write_mars(root / "mars", s.video, s.render, s.difficulty, seed=s.seed),
        "market1501": synth.write_market1501(root / "market1501", s.image, s.render,
                                             s.difficulty, seed=s.seed + 1),
        "lip": synth.write_lip(root / "lip", s.parsing, s.render, s.difficulty,
                               seed=s.seed + 2),
        "egoreid": synth.write_egoreid(root / "egoreid", s.egoreid, s.render, s.difficulty,
                                       seed=s.seed + 3),
    }
    return PrepareOutput(root, counts)
