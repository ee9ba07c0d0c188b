"""How records name an operator: the candidate identity strings for one channel, agent or login.

A CDR channel `PJSIP/3105-000001`, a queue_log agent `PJSIP/a.petrova`, a helpdesk login `a.petrova` or a free
agent name `Анна Петрова` each name an operator in their own way. Ingest turns each into candidates, most
specific first (`PJSIP/3105`, then the extension `3105`); the store looks them up among the roster's
identities.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.queue_log import agent_code


@dataclass(frozen=True)
class OperatorIdentity:
    """An operator as one record names them, and where that record is."""

    candidates: tuple[str, ...]
    source: str | None = None
    line: int | None = None

    @property
    def value(self) -> str:
        """The name as the record gives it (without a channel's per-call suffix), for reports."""
        return self.candidates[0]

    @property
    def code(self) -> str:
        """The operator code this name gives when no roster says otherwise: the extension or agent name."""
        return self.candidates[-1]


def identity_candidates(name: str | None) -> tuple[str, ...]:
    """Candidate identity strings for a channel, member interface, agent name or login, most specific first.

    'PJSIP/3105-000001' gives ('PJSIP/3105', '3105'); 'Agent/101' ('Agent/101', '101'); 'a.petrova' itself.
    """
    name = (name or "").strip()
    code = agent_code(name)
    if not code:
        return ()
    if "/" in name:
        return (f"{name.split('/', 1)[0]}/{code}", code)
    return (code,)


def operator_identity(
    name: str | None, source: str | None = None, line: int | None = None
) -> OperatorIdentity | None:
    """The identity a record's channel, agent or login column gives, or None when it names nobody."""
    candidates = identity_candidates(name)
    return OperatorIdentity(candidates, source or None, line or None) if candidates else None
