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
    render = synth.RenderConfig.from_dict(s.render)
    difficulty = synth.Difficulty.from_dict(s.difficulty)
    counts = {
        "mars": synth.write_mars(root / "mars", synth.VideoSetConfig.from_dict(s.video),
                                 render, difficulty, seed=s.seed),
        "market1501": synth.write_market1501(
            root / "market1501", synth.ImageSetConfig.from_dict(s.image), render, difficulty,
            seed=s.seed + 1),
        "lip": synth.write_lip(root / "lip", synth.ParsingSetConfig.from_dict(s.parsing), render,
                               difficulty, seed=s.seed + 2),
        "egoreid": synth.write_egoreid(root / "egoreid", synth.EgoWorldConfig.from_dict(s.egoreid),
                                       render, difficulty, seed=s.seed + 3),
    }
    return PrepareOutput(root, counts)
