"""The site's call rules: every threshold the registration manual names, in one configurable object."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CallRules:
    """Thresholds (seconds, characters) read by call assembly and the exclusion rules alike.

    The defaults are the registration manual's: under 20 s; under 150 s and ended in a transfer; an internal
    number (5 characters or fewer) with no linked incident. A rule whose name is in `disabled` never fires.
    """

    short_call_seconds: float = 20.0
    short_transfer_seconds: float = 150.0
    internal_number_max_length: int = 5
    # A recording with speech closer than this to its end was cut off: the call dropped (its checklist
    # items after the drop are n/a). 0 turns the rule off, for PBXs that record a tone or music to the end.
    cut_off_seconds: float = 0.2
    disabled: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A settings file gives a list; the rules compare and hash as a tuple.
        self.disabled = tuple(self.disabled)

    def is_internal_number(self, number: str | None) -> bool:
        """A short extension-like number (the PBX's own lines), not a customer's."""
        return bool(number) and len(number) <= self.internal_number_max_length

    def is_cut_off(self, quiet_at_end: list[float | None]) -> bool:
        """Whether a recording whose channels fall quiet `quiet_at_end` seconds before its end (None: a
        silent channel) was cut off mid-speech."""
        quiet = [q for q in quiet_at_end if q is not None]
        return bool(quiet) and min(quiet) < self.cut_off_seconds
