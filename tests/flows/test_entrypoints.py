"""flows/*.py are file entry points for Prefect's tools: the package's flows, nothing else."""

import runpy
from pathlib import Path

import pytest

from vreid.flows.retraining import retraining_flow
from vreid.flows.training import training_flow

FLOWS = Path(__file__).resolve().parents[2] / "flows"


@pytest.mark.parametrize("name, flow", [("training", training_flow),
                                        ("retraining", retraining_flow)])
def test_entry_point_exposes_the_package_flow(name, flow):
    namespace = runpy.run_path(str(FLOWS / f"{name}.py"), run_name="entrypoint")
    assert namespace[f"{name}_flow"] is flow
