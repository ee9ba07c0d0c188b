"""One match score per checklist item and call, robust to recognition errors, and the bands that turn it
into a verdict.

The score (0-1) says how nearly the item's phrases were said in a turn:

- **stems**: a phrase found on its word stems (the matcher of `classifiers.compliance`, one or two letter
  slips allowed) scores 1;
- **word-level edit distance**: otherwise the phrase is aligned to the turn's words in order (up to three
  words between, a word may be missing) and each phrase word scores its closeness to the word it is aligned
  to (1 - edit distance / its length, long words weighing more): «отбращение» for «обращения» still scores
  high, a phrase with one word garbled beyond recognition scores what its other words carry;
- **the sentence encoder** (when configured and the item has semantic `examples`): the cosine similarity of
  the turn to the nearest example, rescaled so that the item's `similarity` is 1 and what unrelated
  sentences score (`UNRELATED`) is 0.

The best of these over the turns where the item belongs is the item's score. `MatchBands` split it into
pass (at or above `pass_at`), borderline (a near miss: the verdict is uncertain) and no match (under
`fail_below`: a failure as far as matching goes). The checklist gives defaults; `fit_bands` fits them per
item on people's decisions (`callqa train checklist`).
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from classifiers.text import edit_distance, normalise, similar

# Encoder cosine at which two sentences count as unrelated (multilingual e5 puts unrelated short Russian
# sentences of one conversation around 0.80-0.84, paraphrases above 0.9): the zero of the rescaled score.
UNRELATED = 0.82
# A phrase word aligned to a word less close than this counts as missing.
MIN_CLOSENESS = 0.6
# Words allowed between two aligned phrase words.
GAP = 3
_NUMBER = re.compile(r"\d{3,}")


@dataclass(frozen=True)
class MatchBands:
    """Where an item's match score passes it, leaves it borderline, or finds nothing near it."""

    pass_at: float = 1.0
    fail_below: float = 0.7

    def band(self, score: float) -> str:
        """ "pass", "near" (borderline: uncertain) or "none" for a score."""
        if score >= self.pass_at:
            return "pass"
        return "near" if score >= self.fail_below else "none"


@dataclass
class MatchScore:
    """The item's best match in a call: the score, the turn (its first utterance's index) and the words."""

    score: float = 0.0
    turn: int | None = None
    matched: str = ""
    how: str = ""  # stems | edits | encoder


JOINED = "+"  # marks two phrase words run together by the recogniser


@lru_cache(maxsize=500_000)
def closeness(word: str, wanted: str) -> float:
    """How nearly `word` is the stem `wanted`: 1 when the stem matcher accepts it, else 1 - the edit distance
    of its closest prefix over the stem's length (0 at worst). `wanted` starting with `JOINED`: two stems
    run together, which the word must be about as long as (a word is no more one of them plus the start
    of the other)."""
    if wanted.startswith(JOINED):
        wanted = wanted[len(JOINED) :]
        if len(word) < len(wanted) - 1:
            return 0.0
    if not wanted:
        return 0.0
    if similar(word, wanted):
        return 1.0
    head = word[: len(wanted) + 3]
    lengths = range(max(1, len(wanted) - 3), len(head) + 1)
    best = min((edit_distance(head[:n], wanted) for n in lengths), default=len(wanted))
    return max(0.0, 1.0 - best / len(wanted))


def _weight(token: str) -> float:
    """Long (content) words carry a phrase more than prepositions and particles."""
    return float(max(2, min(8, len(token.lstrip("=")))))


def align(
    phrase: Sequence[str], count: int, close: Callable[[str, int], float]
) -> tuple[float, int, int, bool]:
    """The best in-order alignment of `phrase` to `count` words: (score 0-1, first word, last word, whether
    every phrase word is aligned).

    `close(token, i)` is how nearly word `i` is the phrase's `token` (a token starting with `JOINED` is two
    phrase words run together: see `closeness`). A token may stay unaligned (it scores 0); aligned words
    are in order with at most `GAP` words between.
    """
    weights = [_weight(t) for t in phrase]
    total = sum(weights)
    if not phrase or not count or not total:
        return 0.0, -1, -1, False
    # state: last aligned word -> (weighted closeness, weight aligned, first aligned word, last aligned
    # token); None: nothing aligned yet
    states: dict[int | None, tuple[float, float, int, int]] = {None: (0.0, 0.0, -1, -1)}
    previous = ""
    for k, (token, weight) in enumerate(zip(phrase, weights, strict=True)):
        after = dict(states)  # the token left unaligned
        # Recognisers run short words together («налинии», «досвидания»): the word the previous token was
        # aligned to may carry this one too.
        joined = JOINED + previous + token if _plain(previous) and _plain(token) else ""
        for last, (value, aligned, first, last_token) in states.items():
            window = range(count) if last is None else range(last + 1, min(count, last + GAP + 2))
            if joined and last is not None and last_token == k - 1:
                window = [last, *window]
            for i in window:
                c = close(joined, i) if i == last else close(token, i)
                if c < MIN_CLOSENESS:
                    continue
                candidate = (value + weight * c, aligned + weight, i if first < 0 else first, k)
                if _value(candidate, total) > _value(after.get(i), total):
                    after[i] = candidate
        states = after
        previous = token
    last, best = max(states.items(), key=lambda kv: _value(kv[1], total))
    return _value(best, total), best[2], last if last is not None else -1, best[1] >= total


def _plain(token: str) -> bool:
    """A stem (not a proper name or a placeholder, which are matched whole)."""
    return bool(token) and token[0] not in "={" + JOINED


def _value(state: tuple[float, float, int, int] | None, total: float) -> float:
    """An alignment's score: its words' weighted closeness times the (weighted) share of the phrase's words
    aligned (one word of a longer phrase found by chance somewhere in a call is weak evidence)."""
    if state is None:
        return -1.0
    return state[0] / total * state[1] / total


def semantic_score(cosine: float, similarity: float) -> float:
    """An encoder cosine rescaled: `UNRELATED` is 0, the item's `similarity` (or more) is 1."""
    span = max(1e-6, similarity - UNRELATED)
    return float(min(1.0, max(0.0, (cosine - UNRELATED) / span)))


def missing_cap(poorly_heard: bool) -> float:
    """The most a phrase with a word (or the number it needs) missing can score: a near miss where the turn
    was heard poorly (recognisers drop words and digits there); where it was heard well, what is missing
    was not said, so it stays under the default `fail_below`."""
    return 0.9 if poorly_heard else 0.4


def has_number(text: str) -> bool:
    """Any number of three digits or more (recognisers drop digits, so any number said counts)."""
    return bool(_NUMBER.search(text))


def words_of(text: str, spans) -> list[str]:
    """The normalised words of `text` at `spans` (from `classifiers.text.token_spans`)."""
    return [normalise(text[start:end]) for _, start, end in spans]


# --- fitting ------------------------------------------------------------------------------------------


@dataclass
class Example:
    """A person's verdict on an item beside the machine's match score for it (one labelled example)."""

    item: str
    score: float
    verdict: str  # pass | fail
    group: str = ""  # the call: cross-validation keeps a call's items in one fold


@dataclass
class FittedItem:
    """An item's fitted bands with what they rest on."""

    bands: MatchBands | None  # None: too few examples, the checklist's defaults stay
    examples: int
    passes: int
    fails: int
    cv_accuracy: float | None = None  # share right among the held-out examples the bands decide
    cv_decided: float | None = None  # share of held-out examples the bands decide (not borderline)
    pooled: bool = False  # too few examples of its own: the pass edge fitted on every item's examples


@dataclass
class FittedBands:
    """Per-item bands fitted on labelled examples (what `callqa train checklist` saves)."""

    items: dict[str, FittedItem] = field(default_factory=dict)
    # The pass edge fitted on all items' examples together (None: too few), for items with too few
    # examples of their own; its cross-validation is over all examples.
    pooled: FittedItem | None = None
    version_: str = ""

    def bands(self) -> dict[str, MatchBands]:
        """The fitted bands of the items that had enough examples."""
        return {k: v.bands for k, v in self.items.items() if v.bands is not None}


MAX_CUTS = 60  # candidate cut points per band edge
MIN_EXAMPLES = 6  # fewer, or only one kind of verdict: the item keeps the checklist's defaults
MIN_EACH = 2


def _errors(scores: Sequence[tuple[float, str]], bands: MatchBands) -> tuple[int, int]:
    """(wrong, undecided) when `bands` judge the examples: a pass band says pass, a none band fail."""
    wrong = undecided = 0
    for score, verdict in scores:
        band = bands.band(score)
        if band == "near":
            undecided += 1
        elif (band == "pass") != (verdict == "pass"):
            wrong += 1
    return wrong, undecided


# What a fitted band must get right among the labelled examples it decides: a pass band at least
# PASS_PURITY passes, a fail band at least FAIL_PURITY fails (the failure precision a controller needs).
PASS_PURITY = 0.95
FAIL_PURITY = 0.9


def fit_item(scores: Sequence[tuple[float, str]], default: MatchBands) -> MatchBands:
    """Bands for one item from (score, verdict) pairs: of the candidate cut points (midpoints between
    observed scores), the pair that leaves the fewest examples borderline while the pass band holds at
    least `PASS_PURITY` passes and the fail band at least `FAIL_PURITY` fails; then the fewest wrong, then
    the nearest to the defaults. An exact match (score 1) always passes."""
    values = sorted({round(s, 4) for s, _ in scores} | {0.0, 1.0})
    if len(values) > MAX_CUTS:  # many examples: quantiles are as good, and the search stays quadratic
        values = [values[round(i * (len(values) - 1) / (MAX_CUTS - 1))] for i in range(MAX_CUTS)]
    middles = {round((a + b) / 2, 4) for a, b in itertools.pairwise(values)}
    cuts = sorted({0.0, 1.0, default.pass_at, default.fail_below} | middles)
    # an exact match passes whatever the bands say: only the scores under 1 are theirs to decide
    passes = sorted(s for s, v in scores if v == "pass" and s < 1.0)
    fails = sorted(s for s, v in scores if v != "pass" and s < 1.0)
    best: tuple[tuple[int, int, float], MatchBands] | None = None
    for low in cuts:
        fails_under, passes_under = bisect_left(fails, low), bisect_left(passes, low)
        if fails_under + passes_under and fails_under < FAIL_PURITY * (fails_under + passes_under):
            continue
        for high in cuts:
            if high < low:
                continue
            fails_over = len(fails) - bisect_left(fails, high)
            passes_over = len(passes) - bisect_left(passes, high)
            if fails_over + passes_over and passes_over < PASS_PURITY * (fails_over + passes_over):
                continue
            decided = fails_under + passes_under + fails_over + passes_over
            wrong = passes_under + fails_over
            drift = abs(high - default.pass_at) + abs(low - default.fail_below)
            key = (len(passes) + len(fails) - decided, wrong, drift)
            if best is None or key < best[0]:
                best = (key, MatchBands(pass_at=max(high, 1e-3), fail_below=low))
    return best[1] if best else default


def _folds(groups: Sequence[str], k: int) -> list[int]:
    """A fold per example, whole calls kept together (stable: sorted call names dealt round)."""
    names = sorted(set(groups))
    of = {name: i % k for i, name in enumerate(names)}
    return [of[g] for g in groups]


Fit = Callable[[list[tuple[float, str]]], MatchBands]


def _cross_validated(rows: Sequence[Example], fit: Fit, folds: int, into: FittedItem) -> None:
    """Fill `into`'s cross-validated accuracy and decided share: `fit` on all folds but one, judged on it."""
    pairs = [(r.score, r.verdict) for r in rows]
    groups = [r.group or str(i) for i, r in enumerate(rows)]
    k = min(folds, len(set(groups)))
    if k < 2:
        return
    fold = _folds(groups, k)
    right = decided = 0
    for f in range(k):
        train = [p for p, g in zip(pairs, fold, strict=True) if g != f]
        test = [p for p, g in zip(pairs, fold, strict=True) if g == f]
        wrong, undecided = _errors(test, fit(train))
        decided += len(test) - undecided
        right += len(test) - undecided - wrong
    into.cv_accuracy = right / decided if decided else None
    into.cv_decided = decided / len(rows)


def _enough(passes: int, fails: int) -> bool:
    return passes + fails >= MIN_EXAMPLES and min(passes, fails) >= MIN_EACH


def pooled_edge(pairs: Sequence[tuple[float, str]]) -> float:
    """The pass edge fitted on every item's examples together.

    Only the pass edge carries over between items: a phrase nearly found (a slip of the recogniser) is
    a pass whatever the item, while a low score is a failure only where the stretch was heard well and
    attributed surely, which the doubt rules judge per call (pooled, people's passes of poorly heard
    calls would push the failure band to nothing)."""
    return fit_item(pairs, MatchBands()).pass_at


def under_edge(edge: float, default: MatchBands) -> MatchBands:
    """An item's bands with the pooled pass edge, which only ever lowers its own bands."""
    return MatchBands(min(default.pass_at, edge), min(default.fail_below, edge))


def _pass_band_only(pairs: list[tuple[float, str]]) -> MatchBands:
    """The pooled pass edge with nothing under it decided: under the edge the doubt rules decide."""
    return MatchBands(pooled_edge(pairs), 0.0)


def fit_bands(examples: Sequence[Example], defaults: dict[str, MatchBands], folds: int = 5) -> FittedBands:
    """Per-item bands fitted on people's verdicts, with cross-validated accuracy (folds by call).

    An item with fewer than `MIN_EXAMPLES` pass/fail examples, or fewer than `MIN_EACH` of either, gets
    the pass edge fitted on all items' examples pooled (`pooled_edge`) when those are enough, else keeps
    its default bands."""
    by_item: dict[str, list[Example]] = {}
    for e in examples:
        if e.verdict in ("pass", "fail"):
            by_item.setdefault(e.item, []).append(e)
    out = FittedBands()
    for item, rows in sorted(by_item.items()):
        default = defaults.get(item, MatchBands())
        passes = sum(r.verdict == "pass" for r in rows)
        fitted = FittedItem(None, len(rows), passes, len(rows) - passes)
        out.items[item] = fitted
        if _enough(fitted.passes, fitted.fails):
            fitted.bands = fit_item([(r.score, r.verdict) for r in rows], default)
            _cross_validated(rows, lambda train, d=default: fit_item(train, d), folds, fitted)
    every = [r for rows in by_item.values() for r in rows]
    passes = sum(r.verdict == "pass" for r in every)
    if not _enough(passes, len(every) - passes):
        return out
    edge = pooled_edge([(r.score, r.verdict) for r in every])
    out.pooled = FittedItem(under_edge(edge, MatchBands()), len(every), passes, len(every) - passes)
    _cross_validated(every, _pass_band_only, folds, out.pooled)
    for item in sorted(set(defaults) | set(by_item)):
        fitted = out.items.setdefault(item, FittedItem(None, 0, 0, 0))
        if fitted.bands is None:
            fitted.bands = under_edge(edge, defaults.get(item, MatchBands()))
            fitted.pooled = True
    return out
