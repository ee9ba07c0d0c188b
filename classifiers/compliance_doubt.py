"""How sure a checklist verdict is, from the signals the speech layer gives: a failure needs sure evidence.

A missing phrase proves a failure only when the stretch of the call where it belongs was heard well and
given to the right party. Three kinds of doubt make the verdict *uncertain* instead (a person decides):

- **recognition**: the relevant stretch (the item's role, inside its time window) was recognised with low
  word probabilities, or the other party was heard there and this one not at all;
- **attribution**: who said what is not sure (a mono line split by diarization, roles decided with low
  confidence), the more so when the phrase is there across both parties' speech, or in speech given to
  nobody;
- **borderline match**: the item's match score (`classifiers.matching`: stems, word-level edit distance,
  the sentence encoder) between its bands' `fail_below` and `pass_at`: a phrase's words nearly there, or,
  where the turn was heard poorly, a word or the number it needs missing.

Each doubt lowers the failure's confidence; below `min_fail_confidence` the failure is uncertain. The
thresholds are read from the checklist file (`uncertainty:`), never from what one site says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from classifiers.taxonomy import ConfigFileError


@dataclass(frozen=True)
class DoubtRules:
    """Thresholds on the speech layer's signals (the checklist's `uncertainty:` section)."""

    # A failure less sure than this is uncertain; a pass less sure than this is uncertain too.
    min_fail_confidence: float = 0.75
    min_pass_confidence: float = 0.5
    # How sure the rules are on a perfect transcript (the ceiling of every verdict's confidence).
    rule_confidence: float = 0.97
    # Mean word probability (digits left out) of the relevant stretch at which it counts as well heard (no
    # doubt), and at which nothing can be concluded from it (full doubt); in between, doubt grows linearly.
    heard_well: float = 0.85
    heard_poorly: float = 0.5
    # Attribution under this doubts a failure by (1 - attribution). A stereo call's channels are sure (1.0);
    # a mono line's attribution is its roles' confidence times `mono_attribution` (diarization of one mixed
    # channel gives words to the wrong speaker now and then).
    sure_roles: float = 0.8
    mono_attribution: float = 0.7
    # How much each doubt takes away from a failure's confidence (a share of what is left).
    near_miss_doubt: float = 0.5
    other_party_doubt: float = 0.6
    unheard_doubt: float = 0.5

    @classmethod
    def from_config(cls, body: object, where: str) -> DoubtRules:
        """Rules from a checklist's `uncertainty:` mapping (missing keys keep their defaults)."""
        if body is None:
            return cls()
        if not isinstance(body, dict):
            raise ConfigFileError(f"{where}: expected a mapping of thresholds")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ConfigFileError(
                f"{where}: unknown thresholds {unknown} (known: {', '.join(sorted(known))})"
            )
        values = {}
        for key, value in body.items():
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigFileError(f"{where}.{key}: expected a number from 0 to 1, got {value!r}")
            values[key] = float(value)
        return cls(**values)


@dataclass
class Heard:
    """How well a stretch of speech was recognised: its words' probabilities (None: not known)."""

    words: int = 0
    mean_probability: float | None = None
    worst: int | None = None  # the turn with the least sure words (where to listen)


def heard(turns: Sequence[dict]) -> Heard:
    """Recognition quality of `turns` (each with `probabilities`: its words' probabilities)."""
    probabilities = [p for t in turns for p in t["probabilities"]]
    if not probabilities:
        return Heard()
    worst = min(
        turns,
        key=lambda t: (
            sum(t["probabilities"]) / max(1, len(t["probabilities"])) if t["probabilities"] else 1.0
        ),
    )
    return Heard(len(probabilities), sum(probabilities) / len(probabilities), worst["index"])


def recognition_doubt(stretch: Heard, rules: DoubtRules) -> float:
    """0 (well heard, or nothing known about it) to 1 (heard poorly): where the stretch's mean word
    probability lies between `heard_well` and `heard_poorly`."""
    if stretch.mean_probability is None or stretch.mean_probability >= rules.heard_well:
        return 0.0
    span = max(1e-6, rules.heard_well - rules.heard_poorly)
    return min(1.0, (rules.heard_well - stretch.mean_probability) / span)
