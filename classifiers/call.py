"""Everything judged from one call's transcript and records: purpose, caller type, transfer, identifiers,
script compliance and personal-data spans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asr import Utterance
from classifiers.compliance import CallContext, Checklist, ComplianceResult, ReadingSpan, evaluate
from classifiers.identifiers import identifiers
from classifiers.pii import find_pii
from classifiers.profile import SiteProfile, operator_name_forms
from classifiers.purpose_base import PurposePrediction, predict_with_phrases
from classifiers.taxonomy import Taxonomy
from classifiers.text import tokens
from classifiers.transfers import TransferFinding, spoken_transfer, target_extension
from contracts import CallRules
from contracts.phones import DEFAULT_COUNTRY

if TYPE_CHECKING:
    from classifiers.purpose import PurposeModel

# A call's purpose is stated in its first minutes; the model reads that much (long calls cost no more).
PURPOSE_CHARS = 2500


@dataclass
class ClassifierSet:
    """What classification needs, loaded once per worker."""

    taxonomy: Taxonomy
    checklist: Checklist
    model: PurposeModel | None = None
    rules: CallRules = field(default_factory=CallRules)
    encoder: str | None = None  # sentence encoder for checklist items with semantic examples
    # The site's names and wording; the checklist was loaded with it (placeholders filled).
    profile: SiteProfile = field(default_factory=SiteProfile)

    @property
    def version(self) -> str:
        model = self.model.version_ if self.model else "phrases"
        encoder = self.encoder or "no-encoder"
        bands = f"+{self.checklist.fitted_version}" if self.checklist.fitted_version else ""
        return f"{model}+checklist{self.checklist.version}{bands}+{encoder}+profile{self.profile.digest}"


@dataclass
class RecordFacts:
    """What the PBX records say about the call."""

    talk_seconds: float | None = None
    duration: float = 0.0
    caller_number: str | None = None
    transfers: list[dict] = field(default_factory=list)  # from queue_log / call records: kind, target
    operator_name: str | None = None  # the roster's name of the call's operator ("Анна Смирнова")
    cut_off: bool = False  # the recording ends mid-speech (`ingest.quality`): the call dropped


@dataclass
class SpeechFacts:
    """What the speech layer says about who spoke: one mixed channel split by diarization (`mono`), and how
    sure the operator / customer roles are (a stereo call's channel map is sure)."""

    mono: bool = False
    roles_confidence: float = 1.0
    # Second readings of dictated digits (asr/digits.py), one `ReadingSpan` per alternative: alternatives to
    # the text, weaker evidence.
    number_readings: list[ReadingSpan] = field(default_factory=list)


@dataclass
class SaidIdentifiers:
    """Identifiers said in the call (see classifiers/identifiers.py), as digit strings."""

    inn: list[str] = field(default_factory=list)
    kpp: list[str] = field(default_factory=list)
    phone: list[str] = field(default_factory=list)
    card: list[str] = field(default_factory=list)
    incident: list[str] = field(default_factory=list)
    fragments: list[str] = field(default_factory=list)  # runs one digit short of an incident number
    # Found only in a second reading of the call's dictated digits, not in its text: weaker evidence.
    reread_incident: list[str] = field(default_factory=list)
    reread_inn: list[str] = field(default_factory=list)


def said_identifiers(
    text: str, readings: Sequence[str] = (), country: str = DEFAULT_COUNTRY
) -> SaidIdentifiers:
    """Identifiers said in a call's (number-normalised) text, and those only its second readings hold;
    phones read in the site's `country`."""
    said = SaidIdentifiers(**identifiers(text, country=country))
    if readings:
        # Readings are separate stretches: a sentence end between them keeps their digits apart.
        reread = identifiers(". ".join(r.strip().rstrip(".") for r in readings), country=country)
        said.reread_incident = [n for n in reread["incident"] if n not in said.incident]
        said.reread_inn = [n for n in reread["inn"] if n not in said.inn]
    return said


@dataclass
class PiiFinding:
    """Personal data in one utterance: its index, the kind, and the character span in its text."""

    utterance: int
    kind: str
    start: int
    end: int


@dataclass
class ClassifyResult:
    """All per-call judgements of the classification stage."""

    purpose: PurposePrediction
    article: str | None
    caller_type: str | None
    registration: str
    transfer: TransferFinding | None
    conditions: list[str]
    compliance: ComplianceResult
    said: SaidIdentifiers
    # Distinct words (no digits, so no personal numbers) for matching incident summaries.
    keywords: list[str] = field(default_factory=list)
    pii: list[PiiFinding] = field(default_factory=list)
    classifiers_version: str = ""
    # The roster name the checklist judged the operator by ("" for none): a name imported or corrected
    # later makes the call due again (`JobQueue.requeue_renamed`).
    operator_name: str = ""


def call_text(utterances: Sequence[Utterance]) -> str:
    """The whole conversation as one text (number-normalised), as the purpose model was trained on."""
    return " ".join((u.normalized_text or u.text or "").strip() for u in utterances).strip()


def _transfer(utterances: Sequence[Utterance], records: RecordFacts) -> TransferFinding | None:
    if records.transfers:
        last = records.transfers[-1]
        return TransferFinding(
            last.get("source", "queue_log"), last["kind"], target_extension(last.get("target"))
        )
    return spoken_transfer(utterances)


def _purpose_conditions(label: str | None, taxonomy) -> set[str]:
    """The checklist conditions a purpose brings: a dropped call, the special article, no registration."""
    conditions = set()
    if taxonomy.is_dropped(label):
        conditions.add("dropped")
    registration = taxonomy.registration(label)
    if registration == "special":
        conditions.add("special")
    elif registration == "none":
        conditions.add("no_registration")
    return conditions


def _put_through_internally(transfer: TransferFinding | None, rules: CallRules) -> set[str]:
    """`no_registration` when the call was put through to a short (internal) number: the manual needs no
    ticket for a call transferred to another line, but a second-line escalation needs one, and the records
    cannot tell the two apart; a missing item is then left to a person."""
    target = (transfer.target if transfer else None) or ""
    return {"no_registration"} if target.isdigit() and rules.is_internal_number(target) else set()


def _conditions(purpose: str | None, transfer, records: RecordFacts, classifiers: ClassifierSet) -> set[str]:
    conditions = _purpose_conditions(purpose, classifiers.taxonomy)
    if (records.talk_seconds or 0) < classifiers.rules.short_call_seconds:
        conditions.add("short")
    if transfer:
        conditions.add("transferred")
    if records.cut_off:  # whatever the purpose: the manual's items after a drop are not the operator's
        conditions.add("dropped")
    return conditions


def condition_chances(probabilities: dict[str, float], taxonomy) -> dict[frozenset[str], float]:
    """How probable each set of purpose-borne conditions is: the summed probability of the purposes that
    bring it (the purpose model's whole distribution, so a runner-up that needs no registration counts)."""
    chances: dict[frozenset[str], float] = {}
    for label, probability in probabilities.items():
        conditions = frozenset(_purpose_conditions(label, taxonomy))
        if conditions:
            chances[conditions] = chances.get(conditions, 0.0) + probability
    return chances


def classify_call(
    utterances: Sequence[Utterance],
    records: RecordFacts,
    classifiers: ClassifierSet,
    speech: SpeechFacts | None = None,
) -> ClassifyResult:
    """All per-call judgements on a call's utterances (with roles) and its records; `speech` says how sure
    the roles are (default: sure, as on a stereo call)."""
    text = call_text(utterances)
    chances: dict[frozenset[str], float] = {}
    if not text:
        purpose = PurposePrediction(None, 0.0, [], "none")
    elif classifiers.model is not None:
        row = classifiers.model.predict_proba([text[:PURPOSE_CHARS]])[0]
        purpose = classifiers.model.rank(row)
        distribution = {str(c): float(p) for c, p in zip(classifiers.model.classes_, row, strict=True)}
        chances = condition_chances(distribution, classifiers.taxonomy)
    else:
        purpose = predict_with_phrases(text, classifiers.taxonomy)
    guessed = purpose.method == "phrases"
    if guessed:
        # Example phrases found are a guess at the purpose, not a model's estimate: what the purposes they
        # point to would make not applicable is a doubt on a failure, not an item taken off the scorecard
        # (a billing question read as "asks for an employee" scored 100 on its greeting alone).
        found = {purpose.label: purpose.probability, **dict(purpose.alternatives)}
        chances = condition_chances({str(k): v for k, v in found.items() if k}, classifiers.taxonomy)
    transfer = _transfer(utterances, records)
    conditions = _conditions(None if guessed else purpose.label, transfer, records, classifiers)
    duration = max([records.duration] + [u.end for u in utterances])
    names = operator_name_forms(records.operator_name, classifiers.profile)
    speech = speech or SpeechFacts()
    context = CallContext(
        duration,
        conditions,
        names,
        speech.roles_confidence,
        speech.mono,
        chances,
        classifiers.rules.phone_country,
        _put_through_internally(transfer, classifiers.rules),
        number_readings=tuple(speech.number_readings),
    )
    compliance = evaluate(classifiers.checklist, utterances, context, classifiers.encoder)
    pii = [
        PiiFinding(i, s.kind, s.start, s.end)
        for i, u in enumerate(utterances)
        for s in find_pii(u.normalized_text or u.text or "")
    ]
    internal = classifiers.rules.is_internal_number((records.caller_number or "").strip())
    return ClassifyResult(
        purpose=purpose,
        article=classifiers.taxonomy.article(purpose.label),
        caller_type="employee" if internal else classifiers.taxonomy.caller_type(purpose.label),
        registration=classifiers.taxonomy.registration(purpose.label),
        transfer=transfer,
        conditions=sorted(conditions),
        compliance=compliance,
        said=said_identifiers(
            text, [reading for _, _, reading in speech.number_readings], classifiers.rules.phone_country
        ),
        keywords=list(dict.fromkeys(w for w in tokens(text) if not w.isdigit() and len(w) > 3))[:300],
        pii=pii,
        classifiers_version=classifiers.version,
        operator_name=records.operator_name or "",
    )
