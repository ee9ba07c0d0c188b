"""What makes one simulated support desk differ from another: its company, people, script and PBX.

A `Site` gathers everything the plan, the dialogues and the records read: who works there, what its
clients call about, how its operators word the script, and how its PBX and helpdesk write their files.
The dialogue code is the same for every site; only this description changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from simulator.people import Operator, Topic


@dataclass(frozen=True)
class Script:
    """How the site's operators word each step of the script.

    Templates may use {company}, {name} (the operator's first name), {helpful} (полезна/полезен),
    {registered} (the past-tense verb agreeing with the operator), {found}, {number}, and {client}
    (the caller's organisation) where the client is found.
    """

    greetings: tuple[str, ...]
    careless_greetings: tuple[str, ...]
    ask_inn: tuple[str, ...]
    found_by_inn: str
    found_by_phone: str
    hold: str
    after_hold: str
    registered: str
    sms: tuple[str, ...]
    other_questions: tuple[str, ...]
    farewells: tuple[str, ...]
    card_warning: str
    second_registered: str
    special_registered: str
    connecting: str
    to_sales: str
    to_second_line: str
    hear_you: str
    call_back: str
    special_answers: dict[str, str] = field(default_factory=dict)  # situation -> the operator's answer
    registered_verb: str = "зарегистрировал"  # past-tense stem; "а" is added for a female operator
    found_verb: str = "нашёл"  # its feminine form is `found_verb_female`
    found_verb_female: str = "нашла"


@dataclass(frozen=True)
class Callers:
    """What the site's callers say in the situations that need no ordinary registration."""

    wrong_number: tuple[str, ...]
    wrong_number_reply: str
    partner_client: str  # may use {product}
    partner_reply: str
    no_internal_line: str
    no_internal_line_reply: str
    service_centre: str
    service_centre_reply: str
    sales_requests: tuple[str, ...]
    internal_questions: tuple[str, ...]
    internal_answer: str
    employees_asked_for: tuple[tuple[str, str], ...]  # (accusative, instrumental)


@dataclass(frozen=True)
class Pbx:
    """How the site's PBX and helpdesk write their files.

    - `cdr`: "asterisk11" writes one Master.csv row per call; "asterisk13" also writes the consultation
      and the caller's leg after a transfer (same uniqueid), chained by linkedid.
    - `timezone`: the PBX's zone (IANA name): call-record and export times are its wall clock, queue_log
      epochs are absolute. Empty: the generating machine's local time.
    - `recording_names`: "mixmonitor" (date-time-src-dst-uniqueid) or "freepbx"
      (q-dst-src-date-time-uniqueid).
    - `copies`: stereo calls are kept twice, a stereo WAV and a mono MP3 copy.
    - `helpdesk`: "plain" (comma CSV, digits-only phones, operator codes) or "typed" (semicolon CSV with
      Russian headers, phones as people type them, helpdesk logins, day.month.year dates).
    - `queue_agent`: "channel" (`SIP/101`) or "name" (the member name from the roster).
    """

    queue: str = "8800"
    queue_name: str = "support"
    trunk: str = "SIP/trunk"
    operator_tech: str = "SIP"
    cdr: str = "asterisk11"
    timezone: str = ""
    recording_names: str = "mixmonitor"
    copies: bool = False
    helpdesk: str = "plain"
    queue_agent: str = "channel"
    operator_left: bool = True


@dataclass(frozen=True)
class Site:
    """One simulated support desk."""

    key: str
    company: str
    company_spoken: tuple[str, ...]  # other ways its name is said, for the profile
    products: tuple[str, ...]
    departments: tuple[str, ...]
    operators: tuple[Operator, ...]
    topics: tuple[Topic, ...]
    card_topic: str  # the purpose a caller offering card details calls about
    special_article: str
    first_incident: int
    period_start: datetime
    client_companies: tuple[str, ...]
    client_names: tuple[str, ...]
    inn_region: str
    script: Script
    callers: Callers
    transfer_targets: dict[str, str]  # employee | sales | second_line -> extension
    internal_numbers: tuple[int, int]
    pbx: Pbx = field(default_factory=Pbx)
    second_phones: bool = False  # some clients also call from a second phone
    # The site's own wording for the checklist's {script.NAME} placeholders (its profile's `script`).
    profile_script: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def topic(self, label: str) -> Topic:
        """The topic with this purpose label."""
        return next(t for t in self.topics if t.label == label)

    def epoch(self, moment: datetime) -> int:
        """A PBX wall-clock time as epoch seconds (queue_log, uniqueids), in the PBX's zone if it has one."""
        if self.pbx.timezone:
            return int(moment.replace(tzinfo=ZoneInfo(self.pbx.timezone)).timestamp())
        return int(moment.timestamp())
