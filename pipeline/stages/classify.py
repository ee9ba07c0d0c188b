"""The per-call classification stage: purpose, caller type, transfer, script compliance, identifiers, PII."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from asr.digits import NumberOptions, NumberReading
from classifiers.call import ClassifyResult
from classifiers.compliance import ReadingSpan
from pipeline.config import StageOptions, call_rules
from pipeline.stages.base import Stage, StageError, StageInput

_CLASSIFIERS: dict = {}


def _file_digest(path: str, default: str) -> str:
    from classifiers.taxonomy import DEFAULTS

    chosen = Path(path) if path else DEFAULTS / default
    try:
        return hashlib.sha256(chosen.read_bytes()).hexdigest()[:8]
    except OSError as e:
        raise StageError(f"{chosen}: cannot read ({e.strerror})", configuration=True) from e


def current_model_version(models_dir: str) -> str:
    """The purpose model in use: the current trained version, or "phrases" when none is trained."""
    from models import trained

    return trained.current_version(Path(models_dir), "purpose") or "phrases"


def current_bands_version(models_dir: str) -> str:
    """The checklist match bands in use: the current fitted version, or "default" (the checklist's own)."""
    from models import trained

    return trained.current_version(Path(models_dir), "checklist") or "default"


def classifiers_version(options: StageOptions) -> str:
    """What the results depend on: the model version, the taxonomy, checklist and site profile contents,
    the call rules (short calls, cut-off recordings), the checklist's fitted match bands."""
    from classifiers.compliance import default_checklist

    analytics = options.analytics
    model = current_model_version(analytics.models_dir)
    taxonomy = _file_digest(analytics.taxonomy, "topics.yaml")
    checklist = _file_digest(analytics.checklist, default_checklist(options.asr.language).name)
    profile = _file_digest(analytics.profile, "") if analytics.profile else "none"
    encoder = analytics.checklist_encoder or "none"
    bands = current_bands_version(analytics.models_dir)
    rules = hashlib.sha256(repr(analytics.exclusions).encode()).hexdigest()[:8]
    return f"{model}+t{taxonomy}+c{checklist}+p{profile}+r{rules}+e{encoder}+b{bands}"


def purpose_source_note(options: StageOptions) -> str | None:
    """What a run should be told about where call purposes come from: None with a trained model; else
    that the taxonomy's example phrases stand in (and that with none, no call gets a purpose)."""
    from classifiers import load_taxonomy
    from classifiers.taxonomy import ConfigFileError

    analytics = options.analytics
    if current_model_version(analytics.models_dir) != "phrases":
        return None
    where = Path(analytics.models_dir).absolute()
    note = f"no trained purpose model in {where}: purposes come from the taxonomy's example phrases"
    try:
        taxonomy = load_taxonomy(Path(analytics.taxonomy) if analytics.taxonomy else None)
    except (ConfigFileError, AttributeError, TypeError, ValueError):
        return note  # a note only: the classify jobs say what is wrong with the file
    if not any(topic.examples for topic in taxonomy.topics.values()):
        note += ", and it has none: no call will get a purpose"
    return note + " (`callqa train purpose FILE`, or `[analytics] models_dir` to where one was trained)"


def classifier_set(options: StageOptions):
    """Taxonomy, checklist, rules and the trained model, loaded once per worker and version."""
    from classifiers import ClassifierSet, as_purpose_model, load_checklist, load_profile, load_taxonomy
    from classifiers.taxonomy import ConfigFileError
    from models import trained

    analytics = options.analytics
    key = classifiers_version(options)
    if key not in _CLASSIFIERS:
        try:
            taxonomy = load_taxonomy(Path(analytics.taxonomy) if analytics.taxonomy else None)
            profile = load_profile(Path(analytics.profile) if analytics.profile else None)
            chosen = Path(analytics.checklist) if analytics.checklist else None
            checklist = load_checklist(chosen, profile, options.asr.language)
        except ConfigFileError as e:
            raise StageError(str(e), configuration=True) from e
        saved = trained.load_current(Path(analytics.models_dir), "purpose")
        fitted = trained.load_current(Path(analytics.models_dir), "checklist")
        if fitted is not None:  # match bands fitted on people's decisions (`callqa train checklist`)
            checklist = checklist.with_fitted(fitted.estimator.bands(), fitted.version)
        model = as_purpose_model(saved.estimator, saved.version) if saved else None
        rules = analytics.exclusions
        encoder = analytics.checklist_encoder or None
        _CLASSIFIERS[key] = ClassifierSet(taxonomy, checklist, model, rules, encoder, profile)
    return _CLASSIFIERS[key]


def reading_spans(readings: Sequence[NumberReading]) -> list[ReadingSpan]:
    """Each alternative of a call's second readings of digits as the checklist weighs it: a clip's end less
    its padding is where the digits read end (its start reaches back over the words before them)."""
    pad = NumberOptions().pad_seconds  # the transcribe stage reads with the default options
    return [(r.end - pad, r.channel, text) for r in readings for text in r.alternatives]


def classify(job: StageInput) -> ClassifyResult:
    """Judge one transcribed call."""
    from classifiers import RecordFacts, classify_call
    from classifiers.call import SpeechFacts

    call = job.call or {}
    quality = job.upstream.get("audio_quality")
    # From the last recognised word to the recording's end (no speech: nothing that could be cut off).
    last_said = max((u.end for u in job.transcript), default=float("-inf"))
    speech_to_end = job.duration - last_said if job.duration is not None else None
    records = RecordFacts(
        talk_seconds=call.get("billsec"),
        duration=job.duration or 0.0,
        caller_number=call.get("caller_number"),
        transfers=call.get("transfers", []),
        operator_name=call.get("operator_name"),
        cut_off=quality is not None
        and call_rules(job.options).is_cut_off([c.quiet_at_end for c in quality.channels], speech_to_end),
    )
    transcribed = job.upstream.get("transcribe")
    speech = None
    if transcribed:
        readings = reading_spans(transcribed.number_readings)
        speech = SpeechFacts(
            transcribed.layout == "mono", transcribed.roles_confidence, number_readings=readings
        )
    return classify_call(job.transcript, records, classifier_set(job.options), speech)


CLASSIFY = Stage(
    name="classify",
    # 8: a call whose critical item is uncertain has no score until a person decides it; an account or
    # contract number said as such is no incident number; 11: an item's evidence identifier counts, a
    # misheard one leaves the item uncertain, a missing ticket on a call put through internally is uncertain;
    # 12: a company or product name heard run together («Горизонтелеком») is the name; 14: second readings of
    # digits reach the checklist: a ticket phrase whose number the text lost has its number where a reading's
    # digits end in its turn, and an INN heard with a digit lost passes the client check when a reading of it
    # holds a valid one; 15: a short phrase word run into the next («закомпания») matches both, and any of a
    # call's misheard INN dictations may be the one a reading settles; 16: an item's moment is the utterance
    # where its words begin in a long turn, and a mono line's attribution doubt names the roles' confidence
    version="16",
    run=classify,
    depends_on=("transcribe", "audio_quality"),
    versioned_by=classifiers_version,
    uses_transcript=True,
    reads_operator_name=True,  # the checklist's "introduced self" item needs the roster's name
    reads_audio=False,
    result_type=ClassifyResult,
)
