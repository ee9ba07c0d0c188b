"""The call-purpose taxonomy (a YAML file of topics) and the phrase-based fallback classifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from classifiers.text import find_phrase, stems

DEFAULTS = Path(__file__).parent / "defaults"


class ConfigFileError(ValueError):
    """A taxonomy or checklist file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Topic:
    """One purpose: label, title, how it is registered, and example phrases."""

    label: str
    title: str
    description: str = ""
    registration: str = "regular"  # regular | special | none
    dropped: bool = False
    article: str | None = None
    caller_type: str = "client"
    examples: tuple[str, ...] = ()


@dataclass
class Taxonomy:
    """All topics, by label."""

    topics: dict[str, Topic] = field(default_factory=dict)
    special_article: str | None = None

    def registration(self, label: str | None) -> str:
        topic = self.topics.get(label or "")
        return topic.registration if topic else "regular"

    def article(self, label: str | None) -> str | None:
        """The knowledge article of a purpose (the special article for special situations)."""
        topic = self.topics.get(label or "")
        if topic and topic.registration == "special":
            return self.special_article
        return topic.article if topic else None

    def caller_type(self, label: str | None) -> str | None:
        topic = self.topics.get(label or "")
        return topic.caller_type if topic else None

    def is_dropped(self, label: str | None) -> bool:
        topic = self.topics.get(label or "")
        return bool(topic and topic.dropped)


def read_yaml(path: Path, what: str) -> dict:
    """A YAML configuration file as a dict, or ConfigFileError naming the file and the problem."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigFileError(f"{path}: cannot read the {what} ({e})") from e


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read a topics YAML file (default: the shipped Russian support-desk taxonomy)."""
    path = path or DEFAULTS / "topics.yaml"
    data = read_yaml(path, "taxonomy")
    topics = {}
    for label, body in (data.get("topics") or {}).items():
        body = body or {}
        registration = body.get("registration", "regular")
        if registration not in ("regular", "special", "none"):
            raise ConfigFileError(f"{path}: topic {label!r}: registration must be regular, special or none")
        topics[label] = Topic(
            label=label,
            title=body.get("title", label),
            description=body.get("description", ""),
            registration=registration,
            dropped=bool(body.get("dropped", False)),
            article=str(body["article"]) if body.get("article") else None,
            caller_type=str(body.get("caller_type", "client")),
            examples=tuple(body.get("examples") or ()),
        )
    if not topics:
        raise ConfigFileError(f"{path}: no topics")
    return Taxonomy(topics, str(data["special_article"]) if data.get("special_article") else None)


def phrase_scores(text: str, taxonomy: Taxonomy) -> dict[str, float]:
    """Share of each topic's example phrases found in `text` (by stems): the fallback's evidence."""
    text_stems = stems(text)
    scores = {}
    for topic in taxonomy.topics.values():
        if not topic.examples:
            continue
        hits = sum(find_phrase(stems(phrase), text_stems) is not None for phrase in topic.examples)
        if hits:
            scores[topic.label] = hits / len(topic.examples)
    return scores
