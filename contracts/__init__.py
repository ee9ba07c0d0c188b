"""Value objects every layer shares: the site's call rules and the scorecard arithmetic.

Dependency-free on purpose: stages, the store and the dashboard all import it, and it imports nothing of
the project, so a threshold or the way a scorecard adds up is written once.
"""

from contracts.rules import CallRules
from contracts.scorecard import DECISIONS, VERDICTS, ScoredItem, apply_decisions, scorecard_score, undecided

__all__ = [
    "DECISIONS",
    "VERDICTS",
    "CallRules",
    "ScoredItem",
    "apply_decisions",
    "scorecard_score",
    "undecided",
]
