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
    """MARS-, Market-1501-, LIP-, EgoReID-, iLIDS-VID- and PRID2011-layout sets under `data.synthetic_root`.

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
        # own seed streams (synth.smallsets): the sets above are unchanged by these
        "ilids_vid": synth.write_ilids_vid(root / "ilids_vid", s.ilids_vid, s.render,
                                           s.difficulty, seed=s.seed + 4),
        "prid2011": synth.write_prid2011(root / "prid2011", s.prid2011, s.render,
                                         s.difficulty, seed=s.seed + 5),
    }
    return PrepareOutput(root, counts)
