"""The transcript search language: words (all must occur), "exact phrases", OR / ИЛИ, NOT / НЕ / -word,
and proximity `word NEAR/5 word` (РЯДОМ/5; either side may be a "phrase"). Words are reduced to Snowball
stems, so any form matches.
A query that is one phone number, in any written form, finds the calls to or from that number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.phones import DEFAULT_COUNTRY, canonical_phone, has_inns
from contracts.pii import inn_is_valid
from contracts.text import stems

_TOKEN = re.compile(r'"([^"]*)"|(\()|(\))|(\S+)')
_NEAR = re.compile(r"^(?:NEAR|РЯДОМ)(?:/(\d+))?$", re.IGNORECASE)
MAX_NEAR = 50  # words apart: PostgreSQL spells NEAR/N out as 2(N+1) alternatives


class QuerySyntaxError(ValueError):
    """A search the language cannot read; the message says why."""


# A single word matches as a prefix of stems (Snowball cuts some forms shorter than others: "подпись" →
# "подп", "подписи" → "подпис"), except where the stemmer cut the word to fewer letters than this: «ИНН»
# stems to "ин", which as a prefix would find «инструкция» and «информация». A short word the stemmer left
# whole («СМС») still finds its longer forms («смску»).
MIN_PREFIX = 4


@dataclass(frozen=True)
class Term:
    stem: str
    whole: bool = False  # match the stem as a word, not as a prefix


@dataclass(frozen=True)
class Phrase:
    stems: tuple[str, ...]


@dataclass(frozen=True)
class Phone:
    """Calls to or from one number (canonical digits, `contracts.phones`)."""

    number: str


@dataclass(frozen=True)
class Near:
    """Two words or phrases, in either order, with at most `distance` words between."""

    left: Term | Phrase
    right: Term | Phrase
    distance: int


@dataclass(frozen=True)
class Not:
    node: object


@dataclass(frozen=True)
class All:
    nodes: tuple


@dataclass(frozen=True)
class Any:
    nodes: tuple


def _word(text: str):
    found = stems(text)
    if not found:
        return None
    if len(found) > 1:
        return Phrase(tuple(found))
    typed = re.sub(r"\W", "", text.lower())
    return Term(found[0], whole=len(found[0]) < MIN_PREFIX and len(typed) > len(found[0]))


def parse(query: str, country: str = DEFAULT_COUNTRY):
    """The query as a tree of All / Any / Not / Term / Phrase / Near nodes, or one Phone (a number read
    in the site's `country`)."""
    if number := phone_query(query, country):
        return Phone(number)
    groups: list[list] = [[]]
    negate, near = False, None
    for phrase, _open, _close, word in (m.groups() for m in _TOKEN.finditer(query)):
        if near is not None and word and (word.upper() in _JOINERS or _NEAR.match(word)):
            raise QuerySyntaxError("NEAR needs a word or a phrase after it")
        if word and word.upper() in ("OR", "ИЛИ"):
            groups.append([])
            continue
        if word and word.upper() in ("NOT", "НЕ", "AND", "И"):
            negate = negate or word.upper() in ("NOT", "НЕ")
            continue
        if word and _NEAR.match(word):
            near = _near_distance(word, groups[-1])
            continue
        if word and word.startswith("-") and len(word) > 1:
            negate, word = True, word[1:]
        node = Phrase(tuple(stems(phrase))) if phrase is not None else _word(word or "")
        if node is None or (isinstance(node, Phrase) and not node.stems):
            continue
        if near is not None:
            groups[-1][-1] = _near(groups[-1][-1], node, near, negate)
            near = None
            continue
        node = either_grouping(node)
        groups[-1].append(Not(node) if negate else node)
        negate = False
    if near is not None:
        raise QuerySyntaxError("NEAR needs a word or a phrase after it")
    groups = [g for g in groups if g]
    if not groups:
        raise QuerySyntaxError("the search has no words")
    for group in groups:
        if all(isinstance(n, Not) for n in group):
            raise QuerySyntaxError("a search needs at least one word to find, not only words to exclude")
    alternatives = tuple(All(tuple(g)) for g in groups)
    return alternatives[0] if len(alternatives) == 1 else Any(alternatives)


_JOINERS = ("OR", "ИЛИ", "NOT", "НЕ", "AND", "И")
GROUPED_FROM = 4  # digits: a number from 1000 up may be written in thousands («10.452», «10 452»)


def _thousands(digits: str) -> tuple[str, ...]:
    """«10452» as a recogniser may group it: ("10", "452")."""
    head = len(digits) % 3 or 3
    return (digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3)))


def _grouped(stem: str) -> tuple[str, ...]:
    if stem.isdigit() and len(stem) >= GROUPED_FROM and not stem.startswith("0"):
        return _thousands(stem)
    return (stem,)


_IN_THOUSANDS = re.compile(r"(?<!\S)[1-9]\d{0,2}(?: \d{3})+(?!\S)")


def _joined(stems: tuple[str, ...]) -> tuple[str, ...]:
    """Numbers written in thousands run together: ("заявк", "10", "452") → ("заявк", "10452")."""
    return tuple(_IN_THOUSANDS.sub(lambda m: m.group().replace(" ", ""), " ".join(stems)).split())


def either_grouping(node: Term | Phrase) -> Term | Phrase | Any:
    """A number matches run together and written in thousands alike: the recogniser writes a ticket
    number said whole as «10.452», which the index holds as two numbers, so `10452` finds «заявка 10.452»
    and `"10.452"` finds «заявка 10452»."""
    if isinstance(node, Term) and _grouped(node.stem) != (node.stem,):
        return Any((node, Phrase(_grouped(node.stem))))
    if isinstance(node, Phrase):
        spread = tuple(part for stem in node.stems for part in _grouped(stem))
        forms = {node.stems, spread, _joined(node.stems)}
        if len(forms) > 1:  # in a fixed order: the audit log writes the query back the same every time
            ordered = sorted(forms, key=lambda form: (len(form), form))
            return Any(tuple(Term(f[0]) if len(f) == 1 else Phrase(f) for f in ordered))
    return node


def _near_distance(word: str, group: list) -> int:
    """NEAR/N's N, after a word or a phrase to find."""
    if not group or not isinstance(group[-1], Term | Phrase):
        raise QuerySyntaxError(f"{word} needs a word or a phrase to find on each side")
    distance = int(_NEAR.match(word).group(1) or 5)
    if distance > MAX_NEAR:
        raise QuerySyntaxError(f"{word}: at most NEAR/{MAX_NEAR}")
    return distance


def _near(left: Term | Phrase, right: Term | Phrase, distance: int, negate: bool) -> Near:
    """Two sides of NEAR. They must not share a word: SQLite lets two sides match the same words, while
    PostgreSQL needs them apart, so a search would find other calls on each."""
    if negate:
        raise QuerySyntaxError("NEAR joins two words or phrases to find, not one to exclude")
    if set(searched_stems(left)) & set(searched_stems(right)):
        raise QuerySyntaxError("NEAR joins two different words or phrases")
    return Near(left, right, distance)


def phone_query(query: str, country: str = DEFAULT_COUNTRY) -> str | None:
    """The canonical number when the whole query is one phone number. Ten bare digits that are a valid INN
    read as that INN, unless they start with 9 like a mobile number (and almost no INN)."""
    text = query.strip().strip('"').strip()
    if (
        has_inns(country)
        and text.isdigit()
        and len(text) == 10
        and not text.startswith("9")
        and inn_is_valid(text)
    ):
        return None
    return canonical_phone(text, country)


def query_stems(node) -> set[str]:
    """Every stem the query looks for (not the excluded ones): what to highlight in hits."""
    if isinstance(node, Term):
        return {node.stem}
    if isinstance(node, Phrase):
        return set(node.stems)
    if isinstance(node, Near):
        return query_stems(node.left) | query_stems(node.right)
    if isinstance(node, All | Any):
        return set().union(*(query_stems(n) for n in node.nodes))
    return set()


def searched_stems(node) -> list[str]:
    """Every stem the query names, the excluded ones included (what it asks the index about)."""
    if isinstance(node, Term):
        return [node.stem]
    if isinstance(node, Phrase):
        return list(node.stems)
    if isinstance(node, Near):
        return searched_stems(node.left) + searched_stems(node.right)
    if isinstance(node, Not):
        return searched_stems(node.node)
    if isinstance(node, All | Any):
        return [s for n in node.nodes for s in searched_stems(n)]
    return []


def _nested(node) -> str:
    return f"({query_text(node)})" if isinstance(node, Any) else query_text(node)


def query_text(node) -> str:
    """A parsed query written back in the search language (stems for words): what the audit log shows."""
    if isinstance(node, Term):
        return node.stem
    if isinstance(node, Phrase):
        return '"' + " ".join(node.stems) + '"'
    if isinstance(node, Phone):
        return node.number
    if isinstance(node, Near):
        return f"{query_text(node.left)} NEAR/{node.distance} {query_text(node.right)}"
    if isinstance(node, Not):
        return f"NOT {_nested(node.node)}"
    if isinstance(node, All):
        return " ".join(_nested(n) for n in node.nodes)
    if isinstance(node, Any):
        return " OR ".join(query_text(n) for n in node.nodes)
    return str(node)
