"""The optional pyannote.audio backend (`pip install callqa[pyannote]`) for deployments with its weights."""

from __future__ import annotations

import os

import numpy as np

from diarization.embeddings import SAMPLE_RATE
from diarization.types import Diarization, DiarizationOptions, SpeakerTurn

_PIPELINES: dict = {}


class PyannoteUnavailable(RuntimeError):
    """pyannote.audio or its pipeline weights are missing; the message says what to install or configure."""


def _pipeline(options: DiarizationOptions):
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")  # never phone home
    if not options.pyannote_pipeline:
        raise PyannoteUnavailable(
            "diarization.backend = 'pyannote' needs diarization.pyannote_pipeline: a local pipeline "
            "directory (with config.yaml) or a hub name such as pyannote/speaker-diarization-community-1 "
            "plus pyannote_token"
        )
    key = (options.pyannote_pipeline, options.device)
    if key not in _PIPELINES:
        try:
            from pyannote.audio import Pipeline
        except ImportError as e:
            raise PyannoteUnavailable(
                "the pyannote backend needs pyannote.audio: pip install 'callqa[pyannote]'"
            ) from e
        token = options.pyannote_token or os.environ.get("HF_TOKEN") or None
        try:
            pipeline = Pipeline.from_pretrained(options.pyannote_pipeline, token=token)
        except Exception as e:  # the hub, a gated model or a broken directory: all end here
            raise PyannoteUnavailable(_load_failure(options.pyannote_pipeline, e)) from e
        if pipeline is None:
            raise PyannoteUnavailable(f"pyannote pipeline {options.pyannote_pipeline!r} is gated or missing")
        import torch

        pipeline.to(torch.device(options.device))
        _PIPELINES[key] = pipeline
    return _PIPELINES[key]


def _load_failure(name: str, error: Exception) -> str:
    """What went wrong loading pipeline `name`, and what to do about it."""
    if type(error).__module__.startswith("huggingface_hub"):
        return (
            f"pyannote pipeline {name!r} needs weights that are not on this machine and could not be "
            "fetched from the (gated) model hub: accept the models' conditions on the hub and set "
            "diarization.pyannote_token (or HF_TOKEN) where the hub is reachable, or point "
            f"diarization.pyannote_pipeline at a local directory holding the weights ({error})"
        )
    return f"cannot load pyannote pipeline {name!r}: {error}"


def from_annotation(annotation) -> Diarization:
    """A `pyannote.core.Annotation` as our Diarization; overlapping turns are kept as they are."""
    labels = {label: f"S{i}" for i, label in enumerate(sorted(annotation.labels()))}
    turns = [
        SpeakerTurn(labels[label], round(segment.start, 3), round(segment.end, 3))
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]
    turns.sort(key=lambda t: (t.start, t.speaker))
    return Diarization(turns=turns, speakers=sorted(labels.values()), backend="pyannote")


def to_annotation(diarization: Diarization, uri: str = "call"):
    """Our Diarization as a `pyannote.core.Annotation` (for pyannote.metrics)."""
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for i, turn in enumerate(diarization.turns):
        annotation[Segment(turn.start, turn.end), i] = turn.speaker
    return annotation


def read_rttm(path) -> dict:
    """Reference speaker turns from an RTTM file: uri → `pyannote.core.Annotation`."""
    from pathlib import Path

    from pyannote.core import Annotation, Segment

    references: dict = {}
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        annotation = references.setdefault(fields[1], Annotation(uri=fields[1]))
        annotation[Segment(float(fields[3]), float(fields[3]) + float(fields[4]))] = fields[7]
    return references


def diarize_pyannote(audio: np.ndarray, options: DiarizationOptions) -> Diarization:
    """Run a pyannote.audio pipeline on a mono 16 kHz signal held in memory."""
    import torch

    pipeline = _pipeline(options)
    if options.speakers > 0:
        kwargs = {"num_speakers": options.speakers}
    else:
        kwargs = {"max_speakers": options.max_speakers}
    waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, :]
    output = pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, **kwargs)
    annotation = getattr(output, "speaker_diarization", output)  # pyannote.audio 4 wraps the annotation
    return from_annotation(annotation)
