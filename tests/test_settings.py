"""Settings are checked against their types and allowed values: one clear line per bad value, exit 2."""

from __future__ import annotations

import pytest

from models import trained
from pipeline.config import ConfigError, load_settings
from tests.test_cli import callqa


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[validation]\nmax_duration_seconds = true\n",
            "validation.max_duration_seconds = true: expected a number, not a boolean",
        ),
        ('operator_channel = "middle"\n', 'operator_channel = "middle": must be one of left, right'),
        ("[asr]\nbeam_size = 0\n", "asr.beam_size = 0: must be at least 1"),
        ('asr = "x"\n', 'asr = "x": expected a table [asr], not a string'),
        ('db = "foo://bar"\n', "db = \"foo://bar\": unsupported database 'foo'"),
        ('[asr]\nlanguage = "english"\n', 'asr.language = "english": give "auto"'),
        ('[analytics]\nprofile = "profle.yaml"\n', 'analytics.profile = "'),
        (
            '[analytics.exclusions]\nphone_country = "USA"\n',
            'analytics.exclusions.phone_country = "USA": must be one of RU, KZ, US, CA, GB',
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_key_and_file_and_exit_2(tmp_path, toml, expected):
    (tmp_path / "callqa.toml").write_text(toml)
    result = callqa("status", cwd=tmp_path, env={"COLUMNS": "300"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"settings: callqa.toml: {expected}"), lines
    assert not (tmp_path / "callqa.db").exists(), "nothing runs on bad settings"


def test_a_bad_database_url_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    result = callqa("--db", "foo://bar", "status", cwd=tmp_path, env={"COLUMNS": "300"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "--db foo://bar: unsupported database 'foo': use sqlite:///path/callqa.db or postgresql://user@host/db"
    ]
    garbage = callqa("--db", "not a url", "status", cwd=tmp_path, env={"COLUMNS": "300"})
    assert garbage.returncode == 2 and "not a database URL" in garbage.stderr
    assert "Traceback" not in garbage.stderr


def test_every_bad_value_is_reported_at_once_with_where_it_came_from(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text(
        "raw_sample_rate = -8000\n"
        '[pipeline]\nexecutor = "slurm"\nworkers = 2.5\n'
        '[asr]\ndevice = "tpu"\nvad_threshold = 1.5\nbeam_size = "5"\n'
        '[diarization]\nbackend = "magic"\n'
        '[analytics.kpi]\nnormalisation = "zscore"\ntargets = { handle_time = false }\n'
        "[analytics.linking]\nauto_link_confidence = 2\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"CALLQA_WORKERS": "many", "CALLQA_MAX_ATTEMPTS": "0"})
    where = str(path)
    assert caught.value.problems == [
        f"{where}: raw_sample_rate = -8000: must be greater than 0",
        f'{where}: pipeline.executor = "slurm": must be one of local, ray',
        f"{where}: pipeline.workers = 2.5: expected an integer, not a number",
        f'{where}: asr.device = "tpu": must be one of auto, cpu, cuda',
        f"{where}: asr.vad_threshold = 1.5: must be at most 1",
        f'{where}: asr.beam_size = "5": expected an integer, not a string',
        f'{where}: diarization.backend = "magic": must be one of builtin, pyannote',
        f'{where}: analytics.kpi.normalisation = "zscore": must be one of minmax, target',
        f'{where}: analytics.kpi.targets = {{"handle_time": false}}: expected a number, not a boolean',
        f"{where}: analytics.linking.auto_link_confidence = 2: must be at most 1",
        'CALLQA_WORKERS: pipeline.workers = "many": expected an integer',
        'CALLQA_MAX_ATTEMPTS: pipeline.max_attempts = "0": must be at least 1',
    ]


def test_good_values_still_load_and_numbers_from_the_environment_convert(tmp_path):
    path = tmp_path / "callqa.toml"
    path.write_text(
        'raw_sample_rate = 8000\noperator_channel = "right"\n'
        "[validation]\nmax_duration_seconds = 600\n"
        "[asr]\nbeam_size = 1\nvad_threshold = 0\n"
        "[analytics.kpi]\ntargets = { handle_time = 300 }\n"
        '[analytics.exclusions]\nphone_country = "US"\n'
    )
    settings = load_settings(path, environ={"CALLQA_WORKERS": "3", "CALLQA_LEASE_SECONDS": "60"})
    assert settings.raw_sample_rate == 8000 and settings.operator_channel == "right"
    assert settings.validation.max_duration_seconds == 600.0
    assert isinstance(settings.validation.max_duration_seconds, float)
    assert (settings.asr.beam_size, settings.asr.vad_threshold) == (1, 0.0)
    assert settings.analytics.kpi.targets == {"handle_time": 300.0}
    assert settings.rules.phone_country == "US"
    assert (settings.pipeline.workers, settings.pipeline.lease_seconds) == (3, 60.0)


def test_settings_that_contradict_each_other_are_refused(tmp_path):
    path = tmp_path / "callqa.toml"
    path.write_text("[validation]\nmin_duration_seconds = 30\nmax_duration_seconds = 10\n")
    with pytest.raises(ConfigError, match="min_duration_seconds = 30 must be below"):
        load_settings(path, environ={})


def test_kpi_components_must_be_known_and_targets_given_when_measured_against_them(tmp_path):
    path = tmp_path / "callqa.toml"
    path.write_text('[analytics.kpi]\ncomponents = ["handle_time", "happiness"]\n')
    with pytest.raises(ConfigError, match=r"analytics\.kpi\.components = .*name one or more of handle_time"):
        load_settings(path, environ={})
    path.write_text('[analytics.kpi]\nnormalisation = "target"\ntargets = { handle_time = 300 }\n')
    with pytest.raises(ConfigError, match="lacks a positive target for fcr"):
        load_settings(path, environ={})


def test_language_codes_whisper_knows_and_auto_are_accepted(tmp_path):
    for language in ("auto", "ru", "en", "de", "kk"):
        path = tmp_path / "callqa.toml"
        path.write_text(f'[asr]\nlanguage = "{language}"\n')
        assert load_settings(path, environ={}).asr.language == language


def test_files_a_settings_file_names_are_read_beside_it_wherever_callqa_runs(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "profile.yaml").write_text("company:\n  names: [Ромашка]\n", encoding="utf-8")
    (site / "callqa.toml").write_text('db = "sqlite:///site.db"\n[analytics]\nprofile = "profile.yaml"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = callqa("--config", str(site / "callqa.toml"), "status", cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "site.db").exists() and not (elsewhere / "site.db").exists()
    settings = load_settings(site / "callqa.toml", environ={})
    assert settings.analytics.profile == str(site / "profile.yaml")
    assert settings.analytics.models_dir == "callqa-models", "not named in the file: the working directory's"
    (site / "callqa.toml").write_text(
        'db = "sqlite:///site.db"\n[analytics]\nprofile = "profile.yaml"\nmodels_dir = "models"\n'
    )
    settings = load_settings(site / "callqa.toml", environ={})
    assert settings.analytics.models_dir == str(site.absolute() / "models"), "trained models beside it"
    # Trained before, from the working directory: found there until the folder beside the file has one.
    trained.save({"weights": []}, "purpose", models_dir=elsewhere / "models", version="purpose-1")
    monkeypatch.chdir(elsewhere)
    assert load_settings(site / "callqa.toml", environ={}).analytics.models_dir == "models"
    trained.save({"weights": []}, "checklist", models_dir=site / "models", version="checklist-1")
    beside = load_settings(site / "callqa.toml", environ={}).analytics.models_dir
    assert beside == str(site.absolute() / "models")
    (site / "profile.yaml").unlink()
    with pytest.raises(ConfigError, match=r"analytics.profile = .*profile.yaml.*: no such file"):
        load_settings(site / "callqa.toml", environ={})
