"""The site's call rules: every threshold the registration manual names, in one configurable object."""

from __future__ import annotations

from dataclasses import dataclass

# How much earlier than its sound a recognised utterance may end (its edges are set frame by frame, and a
# short quiet stretch in the last word ends it).
SPEECH_SLACK = 0.3


@dataclass
class CallRules:
    """Thresholds (seconds, characters) read by call assembly and the exclusion rules alike.

    The defaults are the registration manual's: under 20 s; under 150 s and ended in a transfer; an internal
    number (5 characters or fewer) with no linked incident. A rule whose name is in `disabled` never fires.
    """

    short_call_seconds: float = 20.0
    short_transfer_seconds: float = 150.0
    internal_number_max_length: int = 5
    # The site's country (an ISO code, `contracts.phones.NUMBERING_PLANS`): how a customer's number written
    # without a country code reads ("(212) 555-0147" is a US number on a US site, not a Russian one).
    phone_country: str = "RU"
    # A recording whose sound and recognised speech both run closer than this to its end was cut off: the
    # call dropped (its checklist items after the drop are n/a). A tone or music recorded after the words
    # is not speech cut off. 0 turns the rule off.
    cut_off_seconds: float = 0.2
    disabled: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A settings file gives a list; the rules compare and hash as a tuple.
        self.disabled = tuple(self.disabled)

    def is_internal_number(self, number: str | None) -> bool:
        """A short extension-like number (the PBX's own lines), not a customer's."""
        return bool(number) and len(number) <= self.internal_number_max_length

    def is_cut_off(self, quiet_at_end: list[float | None], speech_to_end: float | None = None) -> bool:
        """Whether a recording whose channels fall quiet `quiet_at_end` seconds before its end (None: a
        silent channel) was cut off mid-speech.

        `speech_to_end`: seconds from the end of its last recognised utterance to the recording's end, when
        known. Sound to the very end is not enough when the words stopped earlier: a PBX may record a tone
        or music after the hangup. The utterance may end a little before its sound does (`SPEECH_SLACK`).
        """
        quiet = [q for q in quiet_at_end if q is not None]
        if not quiet or min(quiet) >= self.cut_off_seconds:
            return False
        return speech_to_end is None or speech_to_end < self.cut_off_seconds + SPEECH_SLACK
