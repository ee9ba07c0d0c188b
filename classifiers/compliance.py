"""Script compliance: a YAML checklist matched on word stems, with verdicts, evidence and a weighted score.

Each item comes out pass, fail, n/a or uncertain: a failure needs a stretch of the call that was heard well
and given to the right party (see `classifiers.compliance_doubt`); an uncertain item counts in no score
until a person decides it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asr import Utterance
from classifiers.compliance_doubt import DoubtRules, heard, recognition_doubt
from classifiers.identifiers import IDENTIFIER_KINDS, identifiers, misheard_identifier
from classifiers.matching import (
    MatchBands,
    MatchScore,
    align,
    closeness,
    has_number,
    missing_cap,
    semantic_score,
    words_of,
)
from classifiers.profile import SiteProfile, name_closeness, name_matches, name_phrases
from classifiers.taxonomy import DEFAULTS, ConfigFileError, read_yaml
from classifiers.text import edit_distance, normalise, similar, stems, token_spans
from contracts import ScoredItem, scorecard_score
from contracts.phones import DEFAULT_COUNTRY, is_said_phone
from contracts.scorecard import scored_forbidden

logger = logging.getLogger("callqa.classifiers")

CONDITIONS = ("short", "transferred", "dropped", "special", "no_registration")
# The conditions a purpose brings, as a doubt names them.
CONDITION_WORDS = {
    "dropped": "the call may have dropped",
    "special": "the purpose may be a special situation",
    "no_registration": "the purpose may need no registration",
}
PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[A-Za-z0-9_]+)?)\}")
# A phrase word that is the call's operator's own name (bound per call from the roster).
NAME_SLOT = "{operator_name}"
# Placeholders whose values are proper names: matched as whole words, not as stem prefixes.
_PROPER = ("company", "products")


@dataclass(frozen=True)
class ChecklistItem:
    """One thing the script requires (or, for `forbidden` items, must never be said)."""

    id: str
    title: str
    role: str = "operator"
    any_of: tuple[tuple[str, ...], ...] = ()  # phrases, as stems
    all_of: tuple[tuple[tuple[str, ...], ...], ...] = ()  # groups: one phrase of every group
    within_first: float | None = None
    within_last: float | None = None
    weight: float = 1.0
    critical: bool = False
    requires_number: bool = False
    any_speaker_identifier: str | None = None  # e.g. "inn": a valid INN said by anyone also passes
    not_applicable_when: tuple[str, ...] = ()
    examples: tuple[
        str, ...
    ] = ()  # semantic examples: a turn this close in meaning passes (needs an encoder)
    similarity: float = 0.88
    unconfigured: tuple[str, ...] = ()  # placeholders the site profile gives no value for
    bands: MatchBands = field(default_factory=MatchBands)  # the file's own `pass_at`, `fail_below`

    @property
    def names_operator(self) -> bool:
        """The item needs the operator's own name ({operator_name})."""
        phrases = self.any_of + tuple(p for group in self.all_of for p in group)
        return any(NAME_SLOT in phrase for phrase in phrases)


@dataclass
class Checklist:
    """Items and forbidden phrases, with the file's version."""

    items: list[ChecklistItem]
    forbidden: list[ChecklistItem] = field(default_factory=list)
    version: str = "1"
    doubts: DoubtRules = field(default_factory=DoubtRules)  # when a verdict is not sure enough
    fitted: dict[str, MatchBands] = field(default_factory=dict)  # bands fitted on people's decisions
    fitted_version: str = ""

    def bands(self, item: ChecklistItem) -> MatchBands:
        """The item's match bands: fitted on people's decisions when there are some, else the file's."""
        return self.fitted.get(item.id, item.bands)

    def with_fitted(self, bands: dict[str, MatchBands], version: str) -> Checklist:
        """This checklist with fitted bands for the items in `bands` (the others keep the file's)."""
        return dataclasses.replace(self, fitted=dict(bands), fitted_version=version)


@dataclass
class Evidence:
    """Where an item was satisfied or broken: utterance index, time, text and the matched words."""

    utterance: int
    start: float
    text: str
    matched: str


@dataclass
class ItemVerdict:
    """pass / fail / n/a / uncertain for one item, with confidence and evidence.

    `confidence` is how likely the verdict (for an uncertain one: the verdict it leans to, `leaning`) is
    right. An uncertain item's `evidence` is the moment to listen to and its `reason` says what is in doubt.
    """

    id: str
    title: str
    verdict: str
    confidence: float
    weight: float
    critical: bool
    evidence: Evidence | None = None
    reason: str | None = None
    leaning: str | None = None
    match: float | None = None  # the item's match score (0-1; None: not matched on words, e.g. n/a)


@dataclass
class ComplianceResult:
    """All verdicts, forbidden phrases found, and the score (0-100, 0 when a critical item failed)."""

    items: list[ItemVerdict]
    forbidden: list[ItemVerdict]
    score: float | None
    checklist_version: str


def _expand(text: str, profile: SiteProfile, where: str) -> tuple[list[tuple[str, ...]], set[str]]:
    """A phrase with placeholders as the word sequences it stands for, and the placeholders left empty.

    Words are stems; a proper name's words are "=word" (whole-word match); the operator's name is NAME_SLOT.
    """
    parts = PLACEHOLDER.split(text)
    variants: list[tuple[str, ...]] = [()]
    for i, part in enumerate(parts):
        if i % 2 == 0:
            variants = [v + tuple(stems(part)) for v in variants]
        elif part == "operator_name":
            variants = [(*v, NAME_SLOT) for v in variants]
        elif part in ("company", "products", "department") or part.startswith("script."):
            values = profile.values(part)
            if not values:  # the profile's own wording is optional; its names are not
                return [], set() if part.startswith("script.") else {part}
            if part in _PROPER:
                words = [form for value in values for form in name_phrases(value)]
            else:
                words = [tuple(stems(value)) for value in values]
            variants = [v + w for v in variants for w in words]
        else:
            known = "company, products, department, operator_name, script.NAME"
            raise ConfigFileError(f"{where}: unknown placeholder {{{part}}} (known: {known})")
    return [v for v in variants if v], set()


def _phrases(values, where: str, profile: SiteProfile) -> tuple[tuple[tuple[str, ...], ...], set[str]]:
    if not isinstance(values, list):
        raise ConfigFileError(f"{where}: expected a list of phrases")
    phrases: list[tuple[str, ...]] = []
    missing: set[str] = set()
    for value in values:
        expanded, empty = _expand(str(value), profile, where)
        phrases += expanded
        missing |= empty
    return tuple(dict.fromkeys(phrases)), missing


# What an item of a checklist file may say; anything else is a typo that would silently change a verdict.
_ITEM_KEYS = frozenset({
    "id", "title", "role", "any_of", "all_of", "within_first", "within_last", "weight", "critical",
    "requires_number", "evidence_any_speaker", "not_applicable_when", "examples", "similarity", "pass_at",
    "fail_below",
})  # fmt: skip
_CHECKLIST_KEYS = frozenset({"version", "items", "forbidden", "uncertainty"})


def _unknown_keys(body: object, known: frozenset[str], where: str) -> None:
    if not isinstance(body, dict):
        raise ConfigFileError(f"{where}: expected a mapping of keys, not {type(body).__name__}")
    unknown = sorted(set(body) - known)
    if unknown:
        raise ConfigFileError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")


def _evidence_identifier(values: list, where: str) -> str | None:
    """The identifier `evidence_any_speaker` names: `[{inn}]` (YAML reads a bare {inn} as a mapping) or
    `["{inn}"]`; one the identifier reader does not know, or more than one, is refused."""
    if len(values) > 1:
        raise ConfigFileError(f"{where}.evidence_any_speaker: one identifier, not {len(values)}")
    for value in values:
        name = next(iter(value)) if isinstance(value, dict) and value else str(value).strip().strip("{}")
        if name not in IDENTIFIER_KINDS:
            raise ConfigFileError(
                f"{where}.evidence_any_speaker: unknown identifier {value!r} "
                f"(known: {', '.join(IDENTIFIER_KINDS)})"
            )
        return str(name)
    return None


def _item(body: dict, where: str, profile: SiteProfile) -> ChecklistItem:
    _unknown_keys(body, _ITEM_KEYS, where)
    if "id" not in body:
        raise ConfigFileError(f"{where}: every item needs an id")
    unknown = set(body.get("not_applicable_when", [])) - set(CONDITIONS)
    if unknown:
        known = ", ".join(CONDITIONS)
        raise ConfigFileError(f"{where}: unknown conditions {sorted(unknown)} (known: {known})")
    identifier = _evidence_identifier(body.get("evidence_any_speaker") or [], where)
    any_of, missing = _phrases(body.get("any_of", []), f"{where}.any_of", profile)
    all_of = []
    for group in body.get("all_of", []):
        phrases, empty = _phrases(group, f"{where}.all_of", profile)
        missing |= empty
        if phrases:  # a group the profile leaves empty is not required (and the verdict says so)
            all_of.append(phrases)
    return ChecklistItem(
        id=str(body["id"]),
        title=str(body.get("title", body["id"])),
        role=str(body.get("role", "operator")),
        any_of=any_of,
        all_of=tuple(all_of),
        within_first=body.get("within_first"),
        within_last=body.get("within_last"),
        weight=float(body.get("weight", 1.0)),
        critical=bool(body.get("critical", False)),
        requires_number=bool(body.get("requires_number", False)),
        any_speaker_identifier=identifier,
        not_applicable_when=tuple(body.get("not_applicable_when", [])),
        examples=tuple(str(e) for e in body.get("examples", [])),
        similarity=float(body.get("similarity", 0.88)),
        unconfigured=tuple(sorted(missing)),
        bands=_bands(body, where),
    )


def _bands(body: dict, where: str) -> MatchBands:
    default = MatchBands()
    values = {k: body.get(k, getattr(default, k)) for k in ("pass_at", "fail_below")}
    for key, value in values.items():
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigFileError(f"{where}.{key}: expected a number from 0 to 1, got {value!r}")
    if values["fail_below"] > values["pass_at"]:
        raise ConfigFileError(f"{where}: fail_below is above pass_at")
    return MatchBands(float(values["pass_at"]), float(values["fail_below"]))


def default_checklist(language: str | None = "ru") -> Path:
    """The shipped checklist for a site's recognition language: English for "en", else the Russian script
    (also for "auto": a desk speaking several languages names its checklist in the settings)."""
    english = (language or "").lower().startswith("en")
    return DEFAULTS / ("checklist_en.yaml" if english else "checklist_ru.yaml")


def load_checklist(
    path: Path | None = None, profile: SiteProfile | None = None, language: str | None = "ru"
) -> Checklist:
    """Read a checklist YAML (default: the shipped one for `language`, see `default_checklist`), its
    placeholders filled from `profile`.

    A placeholder the profile gives no value for leaves its phrases out: a greeting is then judged
    without the company name, and an item with nothing left to look for is not applicable.
    """
    path = path or default_checklist(language)
    profile = profile or SiteProfile()
    data = read_yaml(path, "checklist")
    _unknown_keys(data, _CHECKLIST_KEYS, str(path))
    items = [_item(body, f"{path}: items[{i}]", profile) for i, body in enumerate(data.get("items") or [])]
    if not items:
        raise ConfigFileError(f"{path}: the checklist has no items")
    forbidden = [
        _item(body, f"{path}: forbidden[{i}]", profile) for i, body in enumerate(data.get("forbidden") or [])
    ]
    unchecked = sorted({p for item in items for p in item.unconfigured})
    if unchecked:
        logger.warning("checklist %s: the site profile gives no %s; those phrases are not checked", path,
                       ", ".join("{" + p + "}" for p in unchecked))  # fmt: skip
    doubts = DoubtRules.from_config(data.get("uncertainty"), f"{path}: uncertainty")
    return Checklist(items, forbidden, str(data.get("version", "1")), doubts)


# One alternative of a second reading of dictated digits (`asr.digits`): (when the digits read end, channel,
# text); channel None: a mono line's one channel. The clip read reaches back over the words before the
# digits, so only where they end says who said them.
ReadingSpan = tuple[float, int | None, str]


@dataclass
class CallContext:
    """Facts about the call that make items not applicable."""

    duration: float
    conditions: set[str] = field(default_factory=set)
    operator_names: tuple[str, ...] = ()  # the operator's own first name and its short forms (roster)
    # How sure the operator / customer roles are: 1 for a stereo call's channels, the role assignment's
    # own confidence for a mono line; `mono`: one mixed channel split into speakers by diarization.
    roles_confidence: float = 1.0
    mono: bool = False
    # How probable each set of purpose-borne conditions is (`classifiers.call.condition_chances`).
    condition_chances: dict[frozenset[str], float] = field(default_factory=dict)
    # The site's country: which digits said are a phone (`contracts.phones.NUMBERING_PLANS`).
    phone_country: str = DEFAULT_COUNTRY
    # Conditions that may hold: an item they would make not applicable is uncertain, not failed, when it is
    # missing (a call put through to an internal number may need no ticket: `classifiers.call`).
    maybe_conditions: set[str] = field(default_factory=set)
    # Second readings of the call's dictated digits (`asr.digits`), one `ReadingSpan` per alternative: what
    # they found is said where the text lost digits.
    number_readings: tuple[ReadingSpan, ...] = ()

    def chance_not_applicable(self, item: ChecklistItem) -> tuple[float, str]:
        """How probable it is that a purpose other than the one applied makes the item n/a, and the most
        probable such condition."""
        blocking = set(item.not_applicable_when) - self.conditions
        total, best = 0.0, (0.0, "")
        for conditions, chance in self.condition_chances.items():
            hit = sorted(conditions & blocking)
            if hit:
                total += chance
                best = max(best, (chance, hit[0]))
        return round(total, 3), best[1]

    def attribution(self, rules: DoubtRules) -> float:
        """How sure it is that a word was said by the party it is given to."""
        return self.roles_confidence * (rules.mono_attribution if self.mono else 1.0)


def _in_window(item: ChecklistItem, start: float, end: float, duration: float) -> bool:
    if item.within_first is not None and start > item.within_first:
        return False
    return not (item.within_last is not None and end < duration - item.within_last)


# Prepositions a recogniser runs into the next word («закомпания», «всообщении»): a word spelling one of
# them and the phrase's next word matches both. A closed list: «не», a particle, begins ordinary words
# («незнакомый» is not «не знаю»), and a forbidden phrase found zeroes a call's score.
RUN_INTO_NEXT = frozenset(
    {"в", "во", "к", "ко", "с", "со", "у", "о", "об", "за", "на", "по", "до", "от", "из"}
)


def _find(phrase: tuple[str, ...], hit, count: int, gap: int = 2, carries=None) -> tuple[int, int] | None:
    """(first, last) word index where the phrase occurs in order, up to `gap` words between its words.

    `carries(short, wanted, i)`: word `i`, matched by the phrase word `short`, goes on with `wanted` (the
    two run together); then `wanted` may be found in that same word.
    """

    def rest(k: int, position: int, carried: bool) -> int | None:
        """The last word of phrase[k:] found after word `position` (`carried`: it holds two already)."""
        if k == len(phrase):
            return position
        if not carried and carries is not None and carries(phrase[k - 1], phrase[k], position):
            end = rest(k + 1, position, True)
            if end is not None:
                return end
        window = range(position + 1, min(count, position + 2 + gap))
        after = next((i for i in window if hit(phrase[k], i)), None)
        return None if after is None else rest(k + 1, after, False)

    for start in range(count):
        if hit(phrase[0], start):
            end = rest(1, start, False)
            if end is not None:
                return start, end
    return None


def _run_together(word: str, short: str, wanted: str) -> bool:
    """Whether `word` is the preposition `short` run into a word matching the stem `wanted`."""
    rest = word[len(short) :]
    return (
        short in RUN_INTO_NEXT
        and wanted.isalpha()
        and word.startswith(short)
        and len(rest) >= 3
        and similar(rest, wanted)
    )


def _match(
    item: ChecklistItem, text: str, names: tuple[str, ...] = (), number_read: bool = False
) -> str | None:
    """The words that satisfy the item in `text`, or None; `names`: the operator's own name forms;
    `number_read`: a second reading found a number where `text` was said (`_mark_read_numbers`)."""
    spans = token_spans(text)
    words = [normalise(text[start:end]) for _, start, end in spans]

    def is_word(token: str, i: int) -> bool:
        if token == NAME_SLOT:
            return any(name_matches(words[i], name) for name in names)
        if token.startswith("="):
            return name_matches(words[i], token[1:])
        return similar(spans[i][0], token)

    def carries(short: str, wanted: str, i: int) -> bool:
        return _run_together(spans[i][0], short, wanted)

    def found(phrases: tuple[tuple[str, ...], ...]) -> str | None:
        for phrase in phrases:
            at = _find(phrase, is_word, len(spans), carries=carries) if phrase else None
            if at is not None:
                return text[spans[at[0]][1] : spans[at[1]][2]]
        return None

    if item.all_of:
        parts = [found(group) for group in item.all_of]
        return " … ".join(parts) if all(parts) else None
    hit = found(item.any_of)
    if hit and item.requires_number and not (number_read or has_number(text)):
        return None  # recognisers drop digits, so any number said counts, not only a well-formed one
    return hit


_DIGITS = re.compile(r"\d")


def _probabilities(utterance: Utterance) -> list[float]:
    """Its words' recognition probabilities (numbers left out: recognisers are unsure of digits, and no
    phrase is made of them); the utterance's confidence when it has no words (None or 0: not known, e.g.
    a transcript typed in, which leaves nothing in doubt)."""
    if utterance.words:
        return [
            w.probability for w in utterance.words if w.probability is not None and not _DIGITS.search(w.word)
        ]
    return [utterance.confidence] if utterance.confidence else []


def speaker_turns(utterances: Sequence[Utterance]) -> list[dict]:
    """Consecutive utterances of one role joined into turns (a pause inside a phrase splits utterances).

    Each turn: index (of its first utterance), role, start, end, normalized_text, confidence, its words'
    probabilities (`probabilities`, empty when not known) and where each utterance's text begins in it
    (`parts`: character offset, start time).
    """
    turns: list[dict] = []
    for index, utterance in enumerate(utterances):
        text = utterance.normalized_text or utterance.text or ""
        last = turns[-1] if turns else None
        if last and last["role"] == utterance.role and utterance.start - last["end"] < 2.0:
            if text:
                joined = f"{last['normalized_text']} " if last["normalized_text"] else ""
                last["parts"].append((len(joined), utterance.start))
                last["normalized_text"] = joined + text
            last["end"] = utterance.end
            last["confidences"].append(utterance.confidence or 0.0)
            last["probabilities"] += _probabilities(utterance)
        else:
            turns.append({"index": index, "role": utterance.role, "start": utterance.start,
                          "end": utterance.end, "normalized_text": text,
                          "confidences": [utterance.confidence or 0.0], "parts": [(0, utterance.start)],
                          "probabilities": _probabilities(utterance)})  # fmt: skip
    for turn in turns:
        confidences = turn.pop("confidences")
        turn["confidence"] = sum(confidences) / len(confidences)
    return turns


def _evidence(turn: dict, matched: str) -> Evidence:
    """Evidence in `turn` starting at the utterance where the matched words begin: a turn may run a minute,
    and the moment to listen to is where it was said."""
    # An all_of item's groups ("company … greeting") may be said in either order: the earliest counts.
    found = [turn["normalized_text"].find(part) for part in matched.split(" … ")] if matched else []
    at = min((where for where in found if where >= 0), default=-1)
    start = turn["start"]
    for offset, begins in turn.get("parts", ()):
        if 0 <= offset <= at:
            start = begins
    return Evidence(turn["index"], start, turn["normalized_text"], matched)


_READ_EPSILON = 1e-6  # seconds: float noise of a clip's end less its padding


def _read_within(reading: ReadingSpan, start: float, end: float, channel: int | None) -> bool:
    """Whether the digits a reading read end within (start, end] on `channel`. Half-open: a mono line's
    speakers are cut at a word boundary, one's piece ending where the next one's begins, and digits that end
    there are the first speaker's."""
    at, read_on, _ = reading
    inside = start + _READ_EPSILON < at <= end + _READ_EPSILON
    return inside and (read_on is None or read_on == channel)


def _mark_read_numbers(
    turns: list[dict], utterances: Sequence[Utterance], readings: Sequence[ReadingSpan]
) -> list[dict]:
    """`turns`, each with `number_read` set when a second reading that found a number (three digits or
    more, as `has_number`) read digits that end inside it, on its channel: the number was said there,
    though the text lost its digits («его номер двойной ли четыре»). Readings are made where the text
    heard digits, or unsure words just after «номер» or «ИНН»."""
    read = [reading for reading in readings if has_number(reading[2])]
    for turn in turns:
        channel = utterances[turn["index"]].channel
        turn["number_read"] = any(_read_within(r, turn["start"], turn["end"], channel) for r in read)
    return turns


def _search(
    item: ChecklistItem, turns: list[dict], duration: float, names: tuple[str, ...] = ()
) -> Evidence | None:
    for turn in turns:
        if item.role not in ("any", turn["role"]) or not _in_window(
            item, turn["start"], turn["end"], duration
        ):
            continue
        matched = _match(item, turn["normalized_text"], names, turn.get("number_read", False))
        if matched:
            return _evidence(turn, matched)
    return None


def _eligible(item: ChecklistItem, turns: list[dict], duration: float) -> list[dict]:
    return [
        t
        for t in turns
        if item.role in ("any", t["role"]) and _in_window(item, t["start"], t["end"], duration)
    ]


def _turn_score(item: ChecklistItem, turn: dict, names: tuple[str, ...], poorly_heard: bool) -> MatchScore:
    """How nearly the turn says the item: 1 on the stem matcher's match, else the best word-level
    alignment of its phrases (all groups of an `all_of` item: the weakest group counts)."""
    text = turn["normalized_text"]
    exact = _match(item, text, names, turn.get("number_read", False))
    if exact:
        return MatchScore(1.0, turn["index"], exact, "stems")
    spans = token_spans(text)
    words = words_of(text, spans)

    def close(token: str, i: int) -> float:
        if token == NAME_SLOT:
            return max((name_closeness(words[i], name) for name in names), default=0.0)
        if token.startswith("="):
            return name_closeness(words[i], token[1:])
        return closeness(spans[i][0], token)

    def best(phrases: tuple[tuple[str, ...], ...]) -> tuple[float, str]:
        found = (0.0, "")
        for phrase in phrases:
            value, first, last, complete = align(phrase, len(spans), close)
            if not complete:  # a word missing: a slip of the recogniser only where it heard poorly
                value = min(value, missing_cap(poorly_heard))
            if value > found[0] and first >= 0:
                found = (value, text[spans[first][1] : spans[last][2]])
        return found

    if item.all_of:
        parts = [best(group) for group in item.all_of]
        value = min(p[0] for p in parts)
        matched = " … ".join(p[1] for p in parts if p[1])
    else:
        value, matched = best(item.any_of)
    if item.requires_number and not (turn.get("number_read") or has_number(text)):
        value = min(value, missing_cap(poorly_heard))
    # Only the stem matcher (or the encoder) says a phrase is there for sure.
    return MatchScore(round(min(value, 0.99), 4), turn["index"], matched, "edits")


def _semantic_score(item: ChecklistItem, eligible: list[dict], encoder: str | None) -> MatchScore:
    """The eligible turn closest in meaning to one of the item's examples, its cosine rescaled."""
    if not (encoder and item.examples and eligible):
        return MatchScore()
    from classifiers.encoders import encode

    similarity = (
        encode(encoder, [t["normalized_text"] for t in eligible]) @ encode(encoder, list(item.examples)).T
    )
    best_turn, best_example = divmod(int(similarity.argmax()), len(item.examples))
    cosine = float(similarity[best_turn, best_example])
    matched = f"≈ {item.examples[best_example]} ({cosine:.2f})"
    return MatchScore(
        semantic_score(cosine, item.similarity), eligible[best_turn]["index"], matched, "encoder"
    )


def item_score(
    item: ChecklistItem,
    turns: list[dict],
    duration: float,
    names: tuple[str, ...] = (),
    encoder: str | None = None,
    rules: DoubtRules | None = None,
) -> MatchScore:
    """The item's match score in a call (0-1): the best over the turns where it belongs of the stem
    matcher, the word-level alignment and, with `encoder` and examples, the meaning (see
    `classifiers.matching`)."""
    rules = rules or DoubtRules()
    eligible = _eligible(item, turns, duration)
    best = MatchScore()
    for turn in eligible:
        poorly = recognition_doubt(heard([turn]), rules) > 0
        found = _turn_score(item, turn, names, poorly)
        if found.score > best.score:
            best = found
        if best.score >= 1.0:
            return best
    semantic = _semantic_score(item, eligible, encoder)
    return semantic if semantic.score > best.score else best


def _misheard_dictations(
    item: ChecklistItem, utterances: Sequence[Utterance], country: str
) -> Iterator[tuple[int, str]]:
    """(utterance index, digits) of each number the client dictated that may be the item's evidence
    identifier with digits lost or run together (an INN dictated, 8 digits heard): it was said, but cannot
    be checked. Dictated: the recogniser wrote it in pieces or words, not as one number (an error code, an
    amount)."""
    if not item.any_speaker_identifier:
        return
    for index, utterance in enumerate(utterances):
        raw = utterance.text or ""
        if utterance.role == "operator" or _WHOLE_NUMBER.search(raw):
            continue
        before = (utterances[index - 1].normalized_text or utterances[index - 1].text or "") if index else ""
        text = utterance.normalized_text or raw
        digits = misheard_identifier(text, item.any_speaker_identifier, before, country)
        if digits:
            yield index, digits


def _misheard_evidence(
    item: ChecklistItem, utterances: Sequence[Utterance], country: str
) -> tuple[int, str] | None:
    """The call's first misheard dictation of the item's evidence identifier (`_misheard_dictations`)."""
    return next(_misheard_dictations(item, utterances, country), None)


_READ_AGAIN = (
    "the number dictated was heard with digits lost; a second reading of those digits holds a valid one"
)
_NUMBER_READ = "its number heard only in a second reading of the digits"


# A number the recogniser wrote whole (six digits or more in one piece): said as a number, not dictated.
_WHOLE_NUMBER = re.compile(r"\d{6,}")


def _identifier_evidence(
    item: ChecklistItem, utterances: Sequence[Utterance], country: str
) -> Evidence | None:
    if not item.any_speaker_identifier:
        return None
    for index, utterance in enumerate(utterances):
        text = utterance.normalized_text or utterance.text or ""
        values = identifiers(text, country=country).get(item.any_speaker_identifier, [])
        if values:
            return Evidence(index, utterance.start, text, values[0])
    return None


def _settled_by_a_reading(
    item: ChecklistItem, utterances: Sequence[Utterance], readings: Sequence[ReadingSpan], country: str
) -> Evidence | None:
    """The client's utterance with the evidence identifier the text heard with digits lost or run together
    (`_misheard_dictations`) when a second reading of those digits holds a valid one of the item's kind one
    digit from what the text heard: the checksum the text could not pass, passed by digits that agree with
    it. Not a phone-shaped one (a mobile said without its 8 may pass an INN's checksum; an INN of regions
    91-92 stays with a person too). The evidence's matched words are empty: readings are not shown to every
    role that sees the scorecard (its text, the utterance, is masked like the transcript). Any of
    the call's such dictations (a client who repeats an INN) may be the one read well."""
    if not readings:
        return None
    for index, digits in _misheard_dictations(item, utterances, country):
        said = utterances[index]
        for reading in readings:
            if not _read_within(reading, said.start, said.end, said.channel):
                continue
            for value in identifiers(reading[2], country=country).get(item.any_speaker_identifier, []):
                if edit_distance(value, digits) <= 1 and not is_said_phone(value, country):
                    return Evidence(index, said.start, said.normalized_text or said.text or "", "")
    return None


def evaluate(
    checklist: Checklist, utterances: Sequence[Utterance], context: CallContext, encoder: str | None = None
) -> ComplianceResult:
    """Judge every item on a call's utterances (role, start, end, text, confidence, words).

    With `encoder`, items that have semantic `examples` also pass on a turn close in meaning to one. A
    verdict the speech signals leave in doubt is `uncertain` (see `classifiers.compliance_doubt`).
    """
    verdicts = []
    turns = _mark_read_numbers(speaker_turns(utterances), utterances, context.number_readings)
    rules = checklist.doubts
    for item in checklist.items:
        blocking = sorted(set(item.not_applicable_when) & context.conditions)
        if blocking:
            verdicts.append(ItemVerdict(item.id, item.title, "n/a", 1.0, item.weight, item.critical,
                                        reason=", ".join(blocking)))  # fmt: skip
            continue
        unjudged = _nothing_to_look_for(item, context.operator_names)
        if unjudged:
            verdicts.append(ItemVerdict(item.id, item.title, "n/a", 1.0, item.weight, item.critical,
                                        reason=unjudged))  # fmt: skip
            continue
        bands = checklist.bands(item)
        found = item_score(item, turns, context.duration, context.operator_names, encoder, rules)
        evidence = None
        if found.how == "stems":  # the first turn that says it, as the stem matcher reads the call
            evidence = _search(item, turns, context.duration, context.operator_names)
        evidence = evidence or _identifier_evidence(item, utterances, context.phone_country)
        if evidence is None and bands.band(found.score) == "pass":
            turn = next(t for t in turns if t["index"] == found.turn)
            evidence = _evidence(turn, found.matched)
        reread = None
        if evidence is None:
            reread = _settled_by_a_reading(item, utterances, context.number_readings, context.phone_country)
            evidence = reread
        if evidence:
            verdict = _passed(item, evidence, turns, rules)
            read = reread is not None or _number_only_read(item, _turn_of(evidence, turns))
            if read:
                why = _READ_AGAIN if reread is not None else _NUMBER_READ
                verdict.reason = "; ".join(r for r in (verdict.reason, why) if r)
            if item.unconfigured:
                verdict.reason = "; ".join(r for r in (verdict.reason, _unconfigured(item)) if r)
        else:
            verdict = _failed(item, utterances, turns, context, rules, found, bands)
        verdict.match = found.score
        verdicts.append(verdict)
    forbidden = []
    for item in checklist.forbidden:
        evidence = _search(item, turns, context.duration)
        if evidence:
            forbidden.append(_forbidden(item, evidence, turns, context, rules))
    return ComplianceResult(verdicts, forbidden, score(verdicts, forbidden), checklist.version)


def _number_only_read(item: ChecklistItem, turn: dict | None) -> bool:
    """Whether the turn gave the item its number only through a second reading (`_mark_read_numbers`)."""
    return bool(
        item.requires_number and turn and turn["number_read"] and not has_number(turn["normalized_text"])
    )


def _turn_of(evidence: Evidence, turns: list[dict]) -> dict | None:
    return next((t for t in turns if t["index"] == evidence.utterance), None)


def _passed(item: ChecklistItem, evidence: Evidence, turns: list[dict], rules: DoubtRules) -> ItemVerdict:
    """A pass: as sure as the words that carry it were heard (a hallucinated phrase is rare, so a pass
    is uncertain only when those words were barely recognised)."""
    turn = _turn_of(evidence, turns)
    doubt = recognition_doubt(heard([turn] if turn else []), rules) / 2
    confidence = round(rules.rule_confidence * (1 - doubt), 3)
    if confidence >= rules.min_pass_confidence:
        return ItemVerdict(item.id, item.title, "pass", confidence, item.weight, item.critical, evidence)
    return ItemVerdict(item.id, item.title, "uncertain", confidence, item.weight, item.critical, evidence,
                       reason="the words that pass it were barely recognised", leaning="pass")  # fmt: skip


def _relevant(item: ChecklistItem, turns: list[dict], duration: float, own: bool = True) -> list[dict]:
    """Turns inside the item's window: the item's party's own (`own`) or everybody else's."""
    inside = [t for t in turns if _in_window(item, t["start"], t["end"], duration)]
    if item.role == "any":
        return inside if own else []
    return [t for t in inside if (t["role"] == item.role) == own]


def _failed(
    item: ChecklistItem,
    utterances: Sequence[Utterance],
    turns: list[dict],
    context: CallContext,
    rules: DoubtRules,
    found: MatchScore | None = None,
    bands: MatchBands | None = None,
) -> ItemVerdict:
    """No evidence: a failure when the stretch where it belongs was heard well and given to the right
    party and nothing there nearly says it (its match score under the item's `fail_below`); otherwise
    uncertain, with the moment to listen to."""
    found = found or item_score(item, turns, context.duration, context.operator_names, None, rules)
    bands = bands or item.bands
    own = _relevant(item, turns, context.duration)
    doubts: list[tuple[float, str, Evidence | None]] = []
    stretch, where = heard(own), ""
    recognition = recognition_doubt(stretch, rules)
    if found.turn is not None and found.score > missing_cap(poorly_heard=False):
        # Most of a phrase is there: the turn that nearly says it is what was heard, not the stretch's mean
        # (one poorly heard turn among well heard ones is where a word like «ИНН» gets lost).
        nearly = heard([t for t in turns if t["index"] == found.turn])
        if recognition_doubt(nearly, rules) > recognition:
            stretch, where = nearly, " where it is nearly said"
            recognition = recognition_doubt(nearly, rules)
    if recognition > 0:
        worst = next(t for t in turns if t["index"] == stretch.worst)
        if not where and own and (item.within_first is not None or item.within_last is not None):
            # An item with its place in the call (a greeting, a farewell) is listened to there.
            worst = own[0] if item.within_first is not None else own[-1]
        said = f"heard poorly{where} (mean word probability {stretch.mean_probability:.2f})"
        moment = Evidence(worst["index"], worst["start"], worst["normalized_text"], "")
        doubts.append((recognition, said, moment))
    heard_others = [t for t in _relevant(item, turns, context.duration, own=False) if t["probabilities"]]
    if not own and heard_others:
        # The other party was heard there and this one not at all: its speech was lost or misattributed.
        first = heard_others[0]
        moment = Evidence(first["index"], first["start"], first["normalized_text"], "")
        doubts.append(
            (rules.unheard_doubt, f"nothing of the {item.role} recognised where it belongs", moment)
        )
    attribution = context.attribution(rules)
    if attribution < rules.sure_roles:
        # Diarization may have given the words to the wrong party, or split a phrase between both. Kept
        # even where neither party says anything near it: on a mono line a phrase drowned by the other
        # party, or cut at the opening, is lost from the text (BENCHMARKS.md: 5 false failures on the demo).
        # The page's "sure 70%" is the roles' own confidence; a mono line's words weigh less on top of it.
        how = f": roles {context.roles_confidence:.2f} on one mixed channel" if context.mono else ""
        doubts.append((1 - attribution, f"who said what is not sure (attribution {attribution:.2f}{how})",
                       None))  # fmt: skip
        unassigned = dataclasses.replace(item, role="any")
        said = _search(unassigned, _turns_of_anyone(utterances), context.duration, context.operator_names)
        if said:
            doubts.append((rules.other_party_doubt, "said, but (partly) given to the other party", said))
    unknown = [t for t in _relevant(item, turns, context.duration, own=False)
               if t["role"] not in ("operator", "customer")]  # fmt: skip
    said = _search(dataclasses.replace(item, role="any"), unknown, context.duration, context.operator_names)
    if said:
        doubts.append((rules.other_party_doubt, "said, but by a speaker with no role", said))
    if set(item.not_applicable_when) & context.maybe_conditions:
        doubts.append((rules.near_miss_doubt, "may not apply (put through to an internal number, which may "
                       "need no ticket)", None))  # fmt: skip
    chance, condition = context.chance_not_applicable(item)
    if chance > 0:
        # The item may not apply: the purpose model gives weight to purposes that make it n/a.
        doubts.append((chance, f"may not apply ({CONDITION_WORDS[condition]}: {chance:.2f})", None))
    if bands.band(found.score) != "none" and found.turn is not None:
        turn = next(t for t in turns if t["index"] == found.turn)
        nearly = _evidence(turn, found.matched)
        doubts.append((rules.near_miss_doubt, f"nearly said: “{found.matched}” (match {found.score:.2f})",
                       nearly))  # fmt: skip
    misheard = _misheard_evidence(item, utterances, context.phone_country)
    if misheard is not None:
        index, digits = misheard
        said = utterances[index]
        moment = Evidence(index, said.start, said.normalized_text or said.text or "", "")
        # The digits stay out of the reason: it is shown unmasked to every role that sees the scorecard.
        wanted = item.any_speaker_identifier
        doubts.append((rules.near_miss_doubt, f"a number dictated that may be the {wanted} with digits lost "
                       f"({len(digits)} digits heard)", moment))  # fmt: skip
    unnamed = _said_but_the_name(item, own, context.operator_names)
    if unnamed is not None:
        moment = Evidence(unnamed["index"], unnamed["start"], unnamed["normalized_text"], "")
        doubts.append((rules.near_miss_doubt, "said, but the name in it not recognised (a recogniser "
                       "garbles names it does not know, even when sure of its words)", moment))  # fmt: skip
    confidence = rules.rule_confidence
    for share, _, _ in doubts:
        confidence *= 1 - share
    confidence = round(confidence, 3)
    if confidence >= rules.min_fail_confidence:
        return ItemVerdict(item.id, item.title, "fail", confidence, item.weight, item.critical)
    moment = next((e for _, _, e in sorted(doubts, key=lambda d: -d[0]) if e is not None), None)
    reason = "; ".join(text for _, text, _ in doubts)
    return ItemVerdict(item.id, item.title, "uncertain", confidence, item.weight, item.critical, moment,
                       reason=reason, leaning="fail")  # fmt: skip


def _turns_of_anyone(utterances: Sequence[Utterance]) -> list[dict]:
    """Each utterance joined with the next, whoever said them: a phrase diarization split between the
    parties is found, and no turn runs over the whole call (a greeting's words taken from its farewell)."""
    turns = []
    for first in range(len(utterances)):
        pair = [dataclasses.replace(u, role="any") for u in utterances[first : first + 2]]
        turns += [{**turn, "index": turn["index"] + first} for turn in speaker_turns(pair)]
    return turns


def _said_but_the_name(item: ChecklistItem, own: list[dict], names: tuple[str, ...]) -> dict | None:
    """The party's turn that says every group of an `all_of` item except those naming a proper name (the
    company's: «Thank you for calling … »), where no such group was recognised; None when there is none.

    Recognisers write a name they do not know as other words («Line at Services» for «Brightline IT
    Services») with high confidence, so a well heard turn is no proof the name was not said."""
    if not item.all_of:
        return None
    naming = [any(t.startswith("=") for phrase in group for t in phrase) for group in item.all_of]
    if not any(naming) or all(naming):
        return None
    groups = tuple(group for group, name in zip(item.all_of, naming, strict=True) if not name)
    rest = dataclasses.replace(item, all_of=groups)
    name_words = {t[1:] for group in item.all_of for phrase in group for t in phrase if t.startswith("=")}
    for turn in own:
        text = turn["normalized_text"]
        if _match(rest, text, names) and _part_of_a_name(text, name_words):
            return turn
    return None


def _part_of_a_name(text: str, name_words: set[str]) -> bool:
    """Whether a word of `text` sounds like part of one of `name_words`: a piece of it («line» of
    «brightline») or most of it («surfaces» for «services»)."""
    for word in words_of(text, token_spans(text)):
        for name in name_words:
            if len(word) < 4 or len(name) < 4:
                continue
            if word in name or name in word or edit_distance(word, name) <= 0.4 * len(name):
                return True
    return False


def _forbidden(
    item: ChecklistItem, evidence: Evidence, turns: list[dict], context: CallContext, rules: DoubtRules
) -> ItemVerdict:
    """A forbidden phrase found zeroes the score, so it too needs words heard well and a sure speaker."""
    turn = _turn_of(evidence, turns)
    doubt = recognition_doubt(heard([turn] if turn else []), rules)
    if context.attribution(rules) < rules.sure_roles:
        doubt = 1 - (1 - doubt) * (1 - rules.other_party_doubt)
    confidence = round(rules.rule_confidence * (1 - doubt), 3)
    if confidence >= rules.min_fail_confidence:
        return ItemVerdict(item.id, item.title, "fail", confidence, item.weight, True, evidence)
    return ItemVerdict(item.id, item.title, "uncertain", confidence, item.weight, True, evidence,
                       reason="heard poorly or the speaker is not sure", leaning="fail")  # fmt: skip


def _unconfigured(item: ChecklistItem) -> str:
    return "not in the site profile: " + ", ".join("{" + p + "}" for p in item.unconfigured)


def _nothing_to_look_for(item: ChecklistItem, names: tuple[str, ...]) -> str | None:
    """Why an item cannot be judged on this call (its phrases all need what is not known), or None."""
    other_evidence = item.any_speaker_identifier or item.examples
    if item.names_operator and not names:
        usable = [p for p in item.any_of if NAME_SLOT not in p]
        if not usable and not item.all_of and not other_evidence:
            return "the roster has no name for the operator"
    if not item.any_of and not item.all_of and not other_evidence:
        return _unconfigured(item) if item.unconfigured else "no phrases"
    return None


def score(items: list[ItemVerdict], forbidden: list[ItemVerdict] | None = None) -> float | None:
    """Weighted share of decided items passed (0-100); 0 on a failed critical item or a forbidden phrase
    surely said. Uncertain items count nowhere until a person decides; an uncertain critical item or
    forbidden phrase leaves no score until then (`contracts.scorecard.forbidden_item`)."""
    scored = [ScoredItem(i.id, i.verdict, i.weight, i.critical) for i in items]
    return scorecard_score(scored + [scored_forbidden(f.id, f.verdict) for f in forbidden or []])
