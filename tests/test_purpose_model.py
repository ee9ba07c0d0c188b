"""The purpose classifier as a scikit-learn estimator, saved and loaded through `models.trained`."""

from __future__ import annotations

import csv
import json

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from classifiers import PurposeMetrics, PurposeModel, as_purpose_model, cross_validate
from models import ModelError, trained
from tests.conftest import REPO


@pytest.fixture(scope="module")
def examples(demo_rows) -> tuple[list[str], list[str]]:
    """Twelve calls of each of the five common purposes (a quick set for repeated fits)."""
    texts, labels = [], []
    for label in ("signature", "report_submission", "billing", "login", "installation"):
        chosen = [r["text"] for r in demo_rows if r["purpose"] == label][:12]
        texts += chosen
        labels += [label] * len(chosen)
    return texts, labels


@pytest.fixture(scope="module")
def demo_rows() -> list[dict]:
    return list(csv.DictReader((REPO / "demo" / "purpose_train.csv").open(encoding="utf-8")))


def test_init_stores_parameters_and_fit_learns_attributes_ending_in_underscore(examples):
    texts, labels = examples
    model = PurposeModel(svm_c=0.25, char_ngram_range=(3, 4))
    assert model.get_params()["svm_c"] == 0.25 and model.get_params()["char_ngram_range"] == (3, 4)
    assert not [k for k in vars(model) if k.endswith("_")], "nothing learned before fit"
    with pytest.raises(NotFittedError):
        model.predict(texts[:1])

    assert model.fit(texts, labels) is model
    assert sorted(model.classes_) == sorted(set(labels))
    assert model.version_.startswith("purpose-") and model.pipeline_ is not None
    chars = dict(model.pipeline_.named_steps["features"].transformer_list)["chars"]
    assert chars.ngram_range == (3, 4), "the parameter reaches the step it configures"
    probabilities = model.predict_proba(texts)
    assert probabilities.shape == (len(texts), len(model.classes_))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    predicted = model.predict(texts)
    assert list(predicted) == list(model.classes_[probabilities.argmax(axis=1)])
    assert model.score(texts, labels) > 0.9
    ranked = model.predict_ranked(["Не получается зайти в личный кабинет, пароль не подходит"], top=3)[0]
    assert ranked.label == "login" and ranked.method == "model" and ranked.model_version == model.version_
    assert len(ranked.alternatives) == 2 and ranked.probability >= ranked.alternatives[0][1]


def test_clone_gives_an_unfitted_copy_with_the_same_parameters(examples):
    texts, labels = examples
    fitted = PurposeModel(logistic_c=5.0, random_state=3).fit(texts, labels)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "classes_") and not hasattr(copy, "pipeline_")
    assert list(copy.fit(texts, labels).predict(texts)) == list(fitted.predict(texts))


def test_grid_search_tunes_the_hyper_parameters(examples):
    texts, labels = examples
    search = GridSearchCV(PurposeModel(), {"svm_c": [0.1, 0.5], "char_min_df": [1, 2]}, cv=3)
    search.fit(texts, labels)
    assert set(search.best_params_) == {"svm_c", "char_min_df"}
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert search.best_score_ > 0.8
    best = search.best_estimator_
    assert isinstance(best, PurposeModel) and best.svm_c == search.best_params_["svm_c"]
    assert list(search.predict(texts[:5])) == list(best.predict(texts[:5]))


def test_few_examples_of_a_purpose_switch_to_logistic_regression(examples):
    texts, labels = examples
    rare = [*texts, "Хочу сменить тариф на другой"]
    rare_labels = [*labels, "sales_question"]
    model = PurposeModel().fit(rare, rare_labels)
    assert type(model.pipeline_.named_steps["model"]).__name__ == "LogisticRegression"
    calibrated = PurposeModel().fit(texts, labels)
    assert type(calibrated.pipeline_.named_steps["model"]).__name__ == "CalibratedClassifierCV"
    strict = PurposeModel(calibration_folds=len(texts)).fit(texts, labels)
    assert type(strict.pipeline_.named_steps["model"]).__name__ == "LogisticRegression", (
        "every purpose rarer than the calibration folds"
    )


def test_saved_with_version_and_metrics_and_loaded_as_current(tmp_path, examples):
    texts, labels = examples
    metrics = cross_validate(texts, labels, 3)
    assert isinstance(metrics, PurposeMetrics) and metrics.accuracy > 0.8
    model = PurposeModel().fit(texts, labels)
    folder = trained.save(model, "purpose", metrics, models_dir=tmp_path)

    assert folder == tmp_path / "purpose" / model.version_
    assert json.loads((tmp_path / "purpose" / "current.json").read_text()) == {"version": model.version_}
    meta = json.loads((folder / "metrics.json").read_text())
    assert meta["version"] == model.version_ and meta["metrics"]["accuracy"] == metrics.accuracy
    assert meta["params"]["svm_c"] == 0.5 and meta["estimator"] == "classifiers.purpose.PurposeModel"

    loaded = trained.load_current(tmp_path, "purpose")
    assert loaded.version == model.version_ and loaded.metrics["macro_f1"] == metrics.macro_f1
    restored = as_purpose_model(loaded.estimator, loaded.version)
    assert restored.get_params() == model.get_params()
    sample = texts[:20]
    assert np.allclose(restored.predict_proba(sample), model.predict_proba(sample))
    assert restored.predict_ranked(sample[:1])[0].model_version == model.version_

    second = PurposeModel(svm_c=1.0).fit(texts, labels)
    trained.save(second, "purpose", models_dir=tmp_path, version="purpose-second")
    assert trained.current_version(tmp_path, "purpose") == "purpose-second", "the newest is current"
    assert trained.load(tmp_path, "purpose", model.version_).version == model.version_, "older stay loadable"
    assert trained.load_current(tmp_path, "nothing") is None
    with pytest.raises(ModelError, match="train it again"):
        trained.load(tmp_path, "purpose", "purpose-missing")


def test_a_model_saved_as_a_bare_pipeline_still_loads(tmp_path, examples):
    """Artifacts written before the estimator held the fitted scikit-learn pipeline itself."""
    texts, labels = examples
    model = PurposeModel().fit(texts, labels)
    folder = tmp_path / "purpose" / "purpose-20250101000000-abcdef12"
    folder.mkdir(parents=True)
    joblib.dump(model.pipeline_, folder / "model.joblib")
    meta = {"version": folder.name, "metrics": {"folds": 3, "accuracy": 0.9}}
    (folder / "metrics.json").write_text(json.dumps(meta))
    (tmp_path / "purpose" / "current.json").write_text(json.dumps({"version": folder.name}))

    loaded = trained.load_current(tmp_path, "purpose")
    restored = as_purpose_model(loaded.estimator, loaded.version)
    assert restored.version_ == folder.name and list(restored.classes_) == list(model.classes_)
    assert list(restored.predict(texts[:20])) == list(model.predict(texts[:20]))
    with pytest.raises(TypeError, match="not a purpose model"):
        as_purpose_model({"weights": []}, "x")


def test_the_classify_stage_uses_the_current_saved_model(tmp_path, examples):
    from asr.transcribe import Utterance
    from classifiers import RecordFacts, classify_call
    from pipeline.config import AnalyticsSettings, StageOptions
    from pipeline.stages.classify import classifier_set, classifiers_version

    options = StageOptions(analytics=AnalyticsSettings(models_dir=str(tmp_path)))
    assert classifiers_version(options).startswith("phrases+"), "no trained model: the phrases decide"
    texts, labels = examples
    model = PurposeModel().fit(texts, labels)
    trained.save(model, "purpose", models_dir=tmp_path)

    assert classifiers_version(options).startswith(model.version_ + "+")
    loaded = classifier_set(options)
    assert loaded.model.version_ == model.version_
    text = texts[labels.index("billing")]
    said = [Utterance(0.0, 9.0, text, text, 0.9, role="customer")]
    result = classify_call(said, RecordFacts(talk_seconds=60, duration=60), loaded)
    assert result.purpose.method == "model" and result.purpose.model_version == model.version_
    assert result.purpose.label == "billing"
