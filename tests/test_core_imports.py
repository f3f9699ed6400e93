"""The core must run on a GPU box that has none of the orchestration libraries."""

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
CORE = ["vreid.data", "vreid.models", "vreid.losses", "vreid.eval", "vreid.engine",
        "vreid.data.synth", "vreid.data.readers", "vreid.export"]
FORBIDDEN = ["prefect", "ray", "mlflow", "dvc", "great_expectations"]


def test_core_imports_no_orchestration_library():
    code = (
        "import sys\n"
        f"import {', '.join(CORE)}\n"
        "import vreid.data.clip_dataset, vreid.pipeline.train, vreid.pipeline.evaluate\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip() == ""


def test_importing_the_cli_starts_nothing(tmp_path):
    """Nothing runs at import: no mlflow.db, no directory created."""
    code = "import vreid.cli, vreid.tracking, vreid.pipeline.validate"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True,
                   env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert list(tmp_path.iterdir()) == []
