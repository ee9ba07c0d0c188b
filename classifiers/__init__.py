"""Judgements on transcribed calls: exclusions, transfers, purpose, compliance, incident links, PII."""

from classifiers.call import (
    ClassifierSet,
    ClassifyResult,
    PiiFinding,
    RecordFacts,
    SaidIdentifiers,
    SpeechFacts,
    call_text,
    classify_call,
)
from classifiers.compliance import Checklist, ComplianceResult, evaluate, load_checklist
from classifiers.exclusions import CallFacts, exclusion_reasons, registration_rate
from classifiers.identifiers import identifiers, inn_is_valid, luhn_is_valid
from classifiers.linking import LinkingOptions, duplicate_incidents, rank_candidates, repeat_contacts
from classifiers.pii import find_pii
from classifiers.profile import SiteProfile, load_profile, operator_name_forms
from classifiers.purpose_base import PurposeMetrics, PurposePrediction, predict_with_phrases
from classifiers.taxonomy import ConfigFileError, Taxonomy, load_taxonomy

__all__ = [
    "CallFacts",
    "Checklist",
    "ClassifierSet",
    "ClassifyResult",
    "ComplianceResult",
    "ConfigFileError",
    "LinkingOptions",
    "PiiFinding",
    "PurposeMetrics",
    "PurposeModel",
    "PurposePrediction",
    "RecordFacts",
    "SaidIdentifiers",
    "SiteProfile",
    "SpeechFacts",
    "Taxonomy",
    "as_purpose_model",
    "call_text",
    "classify_call",
    "cross_validate",
    "duplicate_incidents",
    "evaluate",
    "exclusion_reasons",
    "find_pii",
    "identifiers",
    "inn_is_valid",
    "load_checklist",
    "load_profile",
    "load_taxonomy",
    "luhn_is_valid",
    "operator_name_forms",
    "predict_with_phrases",
    "rank_candidates",
    "registration_rate",
    "repeat_contacts",
]

_SCIKIT_LEARN = ("PurposeModel", "as_purpose_model", "cross_validate")


def __getattr__(name: str):
    # The estimator imports scikit-learn (seconds); only what trains or predicts pays for it.
    if name in _SCIKIT_LEARN:
        from classifiers import purpose

        return getattr(purpose, name)
    raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
