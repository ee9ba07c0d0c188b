"""A site's profile: the company, products, departments and script wording its checklist refers to.

Checklists name these with placeholders (`{company}`, `{products}`, `{department}`, `{script.NAME}`,
`{operator_name}`), so one checklist file serves every site and a site writes only its profile.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from classifiers.taxonomy import DEFAULTS, ConfigFileError, read_yaml
from classifiers.text import edit_distance, normalise, stem, tokens

logger = logging.getLogger("callqa.classifiers")

# A consonant and its voicing partner (Russian and Latin): on telephone lines recognisers often hear one
# for the other, the first sound of a name included («Горизонт» as «Киризонт»).
_DEVOICED = str.maketrans("бвгдзжbvgdz", "пфктсшpfkts")
# Russian patronymic endings: in "Фамилия Имя Отчество" the first name is the word before one.
_PATRONYMIC = ("вич", "вна", "ична", "чна", "оглы", "кызы")


@dataclass(frozen=True)
class SiteProfile:
    """What a site's operators say of their company, and how its script words things."""

    company: tuple[str, ...] = ()  # names and the ways they are said ("СКБ Контур", "эс ка бэ контур")
    products: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    script: dict[str, tuple[str, ...]] = field(default_factory=dict)  # {script.NAME} -> phrases
    short_names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # first name -> extra short forms
    digest: str = "none"  # of the file's content: part of the classification version

    def decoder_prompt(self) -> str:
        """The site's own names for the speech recogniser's prompt: the company's first name as written
        (not its spoken variants), then the products; empty when the profile names none."""
        parts = [", ".join(self.company[:1]), ", ".join(self.products)]
        return ". ".join(p for p in parts if p) + ("." if any(parts) else "")

    def values(self, placeholder: str) -> tuple[str, ...]:
        """What a checklist placeholder stands for (empty when the profile does not say)."""
        if placeholder.startswith("script."):
            return self.script.get(placeholder[len("script.") :], ())
        return {"company": self.company, "products": self.products, "department": self.departments}.get(
            placeholder, ()
        )


def _strings(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise ConfigFileError(f"{where}: expected a name or a list of names")
    return tuple(str(v) for v in value if str(v).strip())


def load_profile(path: Path | None) -> SiteProfile:
    """Read a site profile YAML; no path: the empty profile (checklist items that need it go unchecked)."""
    if path is None:
        return SiteProfile()
    data = read_yaml(path, "site profile")
    known = {"company", "products", "departments", "script", "short_names"}
    unknown = set(data) - known
    if unknown:
        raise ConfigFileError(f"{path}: unknown keys {sorted(unknown)} (known: {', '.join(sorted(known))})")
    company = data.get("company") or {}
    if isinstance(company, dict):
        names = _strings(company.get("names"), f"{path}: company.names")
        names += _strings(company.get("spoken"), f"{path}: company.spoken")
    else:
        names = _strings(company, f"{path}: company")
    script = data.get("script") or {}
    short = data.get("short_names") or {}
    if not isinstance(script, dict) or not isinstance(short, dict):
        raise ConfigFileError(f"{path}: script and short_names are mappings of names to lists")
    return SiteProfile(
        company=names,
        products=_strings(data.get("products"), f"{path}: products"),
        departments=_strings(data.get("departments"), f"{path}: departments"),
        script={str(k): _strings(v, f"{path}: script.{k}") for k, v in script.items()},
        short_names={normalise(str(k)): _strings(v, f"{path}: short_names.{k}") for k, v in short.items()},
        digest=hashlib.sha256(Path(path).read_bytes()).hexdigest()[:8],
    )


@lru_cache(maxsize=1)
def _short_forms() -> dict[str, tuple[str, ...]]:
    data = read_yaml(DEFAULTS / "names_ru.yaml", "first names")
    return {normalise(k): tuple(normalise(v) for v in (vs or ())) for k, vs in data.items()}


def first_name(full_name: str | None) -> str | None:
    """The first name in a roster name: "Анна Смирнова", "Смирнова Анна", "Смирнова Анна Сергеевна"."""
    words = [w for w in tokens(full_name or "") if len(w) > 1]
    if not words:
        return None
    forms = _short_forms()
    known = set(forms) | {short for shorts in forms.values() for short in shorts}
    for word in words:
        if word in known:
            return word
    for i, word in enumerate(words[1:], start=1):
        if word.endswith(_PATRONYMIC):
            return words[i - 1]
    return words[0]


def operator_name_forms(full_name: str | None, profile: SiteProfile | None = None) -> tuple[str, ...]:
    """The operator's first name and its common short forms (Анна: анна, аня), normalised."""
    name = first_name(full_name)
    if name is None:
        return ()
    extra = (profile.short_names.get(name, ()) if profile else ()) + _short_forms().get(name, ())
    return tuple(dict.fromkeys([name, *(normalise(e) for e in extra)]))


# Marks a name's words written run together (`name_phrases`): matched strictly, see `_run_together`.
RUN_TOGETHER = "+"


def name_phrases(name: str) -> list[tuple[str, ...]]:
    """A proper name as the word sequences a recogniser writes it as: its words ("=word", each matched whole
    by `name_matches`) and, for a name of several words of three letters or more, the one word they make run
    together («Горизонт Телеком» heard as «Горизонтелеком»; not «Ромашка ТВ» or «Тариф 10», whose short
    part would let the first word alone pass for the whole name)."""
    words = tokens(name)
    if not words:
        return []
    forms = [tuple("=" + w for w in words)]
    if len(words) > 1 and all(len(w) >= 3 and w.isalpha() for w in words):
        forms.append(("=" + RUN_TOGETHER + "".join(words),))
    return forms


def name_matches(word: str, name: str) -> bool:
    """A spoken word is the name: the same word in another case, or one recognition slip away.

    Whole words, not prefixes: a short name ("Аня") must not match every word that starts like it.
    """
    if name.startswith(RUN_TOGETHER):
        return _run_together(word, name[len(RUN_TOGETHER) :]) == 1.0
    word, name = normalise(word), normalise(name)
    if word == name or (stem(word) == stem(name) and len(stem(name)) >= 3):
        return True
    allowed = 2 if len(name) >= 7 else 1 if len(name) >= 4 else 0
    return bool(allowed) and same_first_sound(word, name) and edit_distance(word, name) <= allowed


def name_closeness(word: str, name: str) -> float:
    """How nearly a word is a name: 1 when `name_matches` accepts it, else by edit distance (the first
    sound must agree, voiced or not: a recogniser rarely garbles it further)."""
    if name.startswith(RUN_TOGETHER):
        return _run_together(word, name[len(RUN_TOGETHER) :])
    if name_matches(word, name):
        return 1.0
    word, name = normalise(word), normalise(name)
    if not name or not same_first_sound(word, name):
        return 0.0
    return max(0.0, 1.0 - edit_distance(word, name) / len(name))


def _run_together(word: str, joined: str) -> float:
    """How nearly a word is a name's words written together: 1 at one letter apart or less (the letter lost
    or doubled where they meet), an ending of up to two letters after it allowed; else by edit distance.
    A word much shorter than them is not the name («ромашку» is not «ромашкателеком»)."""
    word = normalise(word)
    if len(word) < len(joined) - 1 or not same_first_sound(word, joined):
        return 0.0
    ends = range(len(joined) - 1, min(len(word), len(joined) + 1) + 1)
    distance = min(edit_distance(word[:n], joined) + max(0, len(word) - n - 2) for n in ends)
    return 1.0 if distance <= 1 else max(0.0, 1.0 - distance / len(joined))


def same_first_sound(word: str, name: str) -> bool:
    """Whether two normalised words start with the same sound, voiced or not (г and к, д and т, ...): a
    recogniser rarely garbles a name's first sound beyond its voicing."""
    return bool(word) and word[:1].translate(_DEVOICED) == name[:1].translate(_DEVOICED)
