"""The optional pyannote.audio backend against the real package, installed from the `pyannote` extra.

The extra goes into a throwaway virtual environment that sees this one's packages (torch included)
through a .pth file, so the project's CPU torch is never replaced. No model hub is reachable here,
so the backend's own code path runs up to the gated weights and must stop there with a clear error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

# pip's words when the package index cannot be reached or holds no matching release.
_NOT_DOWNLOADABLE = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ReadTimeoutError",
    "ConnectTimeoutError",
)

# A pipeline directory as the hub's pyannote/speaker-diarization-3.1 holds it: the config names the
# gated segmentation and embedding models, which pyannote fetches while building the pipeline.
_PIPELINE_CONFIG = """\
version: 3.1.0
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: AgglomerativeClustering
    embedding: pyannote/wespeaker-voxceleb-resnet34-LM
    embedding_batch_size: 32
    embedding_exclude_overlap: true
    segmentation: pyannote/segmentation-3.0
    segmentation_batch_size: 32
params:
  clustering:
    method: centroid
    min_cluster_size: 12
    threshold: 0.7045654963945799
  segmentation:
    min_duration_off: 0.0
"""

_PROBE = """\
import json, sys, traceback
from pathlib import Path

import numpy as np
import pyannote.audio, torch
from diarization import DiarizationOptions, diarize
from diarization.pyannote_backend import PyannoteUnavailable

out = {"pyannote": pyannote.audio.__version__, "torch": torch.__version__, "torch_file": torch.__file__}
for name in sys.argv[1:]:
    try:
        options = DiarizationOptions(backend="pyannote", pyannote_pipeline=name)
        diarize(np.zeros(32000, dtype=np.float32), options)
        out[name] = {"error": None}
    except PyannoteUnavailable as e:
        cause = e.__cause__
        frames = traceback.extract_tb(cause.__traceback__)
        out[name] = {
            "error": str(e),
            "cause": f"{type(cause).__module__}.{type(cause).__name__}",
            "frames": [f"{Path(f.filename).name}:{f.name}" for f in frames],
        }
print("PROBE " + json.dumps(out))
"""


def _extra(name: str) -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["optional-dependencies"][name]


def _run(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="module")
def pyannote_python(tmp_path_factory) -> Path:
    """A Python with the `pyannote` extra installed beside (not over) this environment's packages."""
    root = tmp_path_factory.mktemp("pyannote-venv")
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], 60)
                .stdout.strip())  # fmt: skip
    # Processed after its own site-packages: what the extra installs comes first, everything else
    # (torch, numpy, huggingface_hub, the project) is this environment's.
    (site / "zz-callqa-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    requirements = _extra("pyannote")
    installed = _run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements], 600
    )
    if installed.returncode != 0:
        output = installed.stdout + installed.stderr
        if any(marker in output for marker in _NOT_DOWNLOADABLE):
            pytest.skip(f"cannot download {' '.join(requirements)} from the package index: {output[-300:]}")
        pytest.fail(f"installing {requirements} failed:\n{output[-3000:]}")
    # PyPI's torchaudio is a CUDA build for its own torch release; its compiled ops cannot load next to
    # another torch build. pyannote only needs torchaudio's Python code on this path (resampling,
    # feature transforms), which torchaudio runs without the library files.
    if _run([str(python), "-c", "import torchaudio"], 120).returncode != 0:
        for library in (site / "torchaudio" / "lib").glob("*.so"):
            library.unlink()
        check = _run([str(python), "-c", "import torchaudio"], 120)
        assert check.returncode == 0, check.stderr[-2000:]
    return python


@pytest.mark.slow
def test_pyannote_4_runs_the_backend_up_to_the_gated_weights_and_says_what_to_do(pyannote_python, tmp_path):
    import torch

    pipeline_dir = tmp_path / "pipeline"
    pipeline_dir.mkdir()
    (pipeline_dir / "config.yaml").write_text(_PIPELINE_CONFIG, encoding="utf-8")
    hub_name = "pyannote/speaker-diarization-community-1"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",  # no hub here; offline makes the failure immediate rather than a timeout
        "HF_HOME": str(tmp_path / "hf"),  # an empty cache: no weights on this machine
        "PYANNOTE_METRICS_ENABLED": "0",
        "HF_TOKEN": "",
    }
    probe = _run([str(pyannote_python), "-W", "ignore", "-c", _PROBE, hub_name, str(pipeline_dir)], 300,
                 env=env, cwd=tmp_path)  # fmt: skip
    line = next((x for x in probe.stdout.splitlines() if x.startswith("PROBE ")), None)
    assert line, probe.stdout[-2000:] + probe.stderr[-3000:]
    out = json.loads(line.removeprefix("PROBE "))

    assert out["pyannote"].split(".")[0] == "4"
    assert out["torch"] == torch.__version__ and Path(out["torch_file"]) == Path(torch.__file__), (
        "the extra must not bring its own torch"
    )
    for name in (hub_name, str(pipeline_dir)):
        result = out[name]
        assert result["error"], f"{name}: loaded without weights?"
        # The token API was accepted (no TypeError for a removed keyword); the hub refused the weights.
        assert result["cause"].startswith("huggingface_hub."), result
        assert "gated) model hub" in result["error"] and "pyannote_token" in result["error"], result["error"]
        assert name in result["error"]
    # The local pipeline was parsed and built until its segmentation model's weights were needed.
    frames = out[str(pipeline_dir)]["frames"]
    assert any(f.startswith("speaker_diarization.py:") for f in frames), frames
    assert any(f.startswith("model.py:from_pretrained") for f in frames), frames
