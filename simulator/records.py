"""The PBX and helpdesk side of the simulation: Master.csv, queue_log, incident export, ground truth."""

from __future__ import annotations

import csv
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from simulator.dialogs import CHECKLIST, Dialog
from simulator.mixing import TimedTurn
from simulator.numbers import spell_digits
from simulator.people import Operator
from simulator.plan import CallPlan
from simulator.site import Site
from simulator.site_demo import DEMO

# The source's rules, as the simulator applies them to its own truth (thresholds in seconds).
SHORT_CALL = 20
SHORT_TRANSFER = 150
INTERNAL_MAX_DIGITS = 5
DUPLICATE_DAYS = 7
REPEAT_DAYS = 7


@dataclass
class RenderedCall:
    """A planned call after rendering: its timing on the PBX and its recording."""

    plan: CallPlan
    ring: int
    billsec: int
    turns: list[TimedTurn]
    holds: list[tuple[float, float]]
    recording: str | None
    codec: str | None
    duration: float
    copies: list[str] = field(default_factory=list)  # other files of the same call (a mono copy)

    @property
    def answer(self) -> datetime | None:
        return self.plan.start + timedelta(seconds=self.ring) if self.recording else None

    @property
    def end(self) -> datetime:
        return self.plan.start + timedelta(seconds=self.ring + self.billsec)

    @property
    def transfer_at(self) -> float | None:
        for turn in self.turns:
            if "transfer" in turn.tags:
                return turn.end
        return None


def exclusion_reasons(call: RenderedCall) -> list[str]:
    """Every exclusion reason of the registration manual that applies to the call (its true events)."""
    if call.recording is None:
        return ["not_answered"]
    reasons = []
    transfer = call.plan.dialog.transfer if call.plan.dialog else None
    if call.billsec < SHORT_CALL:
        reasons.append("short_call")
    if transfer and call.billsec < SHORT_TRANSFER:
        reasons.append("short_transfer")
    if len(call.plan.caller_number) <= INTERNAL_MAX_DIGITS and not call.plan.incidents:
        reasons.append("internal_unlinked")
    return reasons


def checklist(call: RenderedCall) -> dict[str, str]:
    dialog = call.plan.dialog
    shown = {tag for turn in call.turns for tag in turn.tags}
    return {
        item: "n/a" if item in dialog.not_applicable else ("pass" if item in shown else "fail")
        for item in CHECKLIST
    }


def pii_spans(turn: TimedTurn, person: str | None) -> list[dict]:
    """Where personal data sits in a turn's text (character offsets) and when it was said."""
    spans = []
    for kind, value in turn.pii:
        for spoken in (spell_digits(value, group=4), spell_digits(value)):
            at = turn.text.find(spoken)
            if at >= 0:
                spans.append({"kind": kind, "value": value, "char_start": at, "char_end": at + len(spoken)})
                break
    if person and turn.role == "customer" and person in turn.text:
        at = turn.text.find(person)
        spans.append({"kind": "name", "value": person, "char_start": at, "char_end": at + len(person)})
    return spans


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else ""


def _leg(
    src: str, dst: str, context: str, clid: str, channel: str, peer: str, app: str, data: str,
    start: datetime, answer: datetime | None, end: datetime, uniqueid: str, linkedid: str,
) -> list[str]:  # fmt: skip
    """One Asterisk 13 cdr_csv row (newcdrcolumns: peeraccount, linkedid, sequence follow userfield)."""
    talk = int((end - answer).total_seconds()) if answer else 0
    return ["", src, dst, context, clid, channel, peer, app, data, _when(start), _when(answer), _when(end),
            str(int((end - start).total_seconds())), str(talk), "ANSWERED" if answer else "NO ANSWER",
            "DOCUMENTATION", uniqueid, "", "", linkedid]  # fmt: skip


def _asterisk13_legs(site: Site, call: RenderedCall, n: int) -> list[list[str]]:
    """The legs Asterisk 12+ writes for a call: the caller's leg to the operator, and after a transfer the
    operator's consultation (attended) and the caller's leg again, same uniqueid, bridged to the target."""
    plan, pbx = call.plan, site.pbx
    internal = len(plan.caller_number) <= INTERNAL_MAX_DIGITS
    company = plan.client.company if plan.client else ""
    clid = f'"{company}" <{plan.caller_number}>' if company else plan.caller_number
    caller_channel = (
        f"{pbx.operator_tech}/{plan.caller_number}-{4 * n:08x}" if internal else f"{pbx.trunk}-{4 * n:08x}"
    )
    context = "from-internal" if internal else "from-pstn"
    operator_channel = f"{pbx.operator_tech}/{plan.operator.phone}-{4 * n + 1:08x}"
    answered = call.recording is not None
    first = _leg(plan.caller_number, pbx.queue, context, clid, caller_channel,
                 operator_channel if answered else "", "Queue", f"{pbx.queue_name},t", plan.start,
                 call.answer, call.end, plan.uniqueid, plan.uniqueid)  # fmt: skip
    legs = [first]
    transfer = plan.dialog.transfer if answered and plan.dialog else None
    if not transfer:
        return legs
    # The target's own talk is not the operator's: a stable length per call, independent of the plan's dice.
    dice = random.Random(int(hashlib.sha256(plan.uniqueid.encode()).hexdigest()[:8], 16))
    target, target_channel = transfer["target"], f"{pbx.operator_tech}/{transfer['target']}-{4 * n + 2:08x}"
    if transfer["kind"] == "attended":
        consult_start = call.end - timedelta(seconds=min(call.billsec - 1, dice.randint(8, 15)))
        consult_id = f"{site.epoch(consult_start)}.{4 * n + 2}"
        legs.append(_leg(plan.operator.phone, target, "from-internal", plan.operator.full_name,
                         operator_channel, target_channel, "Dial", f"{pbx.operator_tech}/{target},30",
                         consult_start, consult_start + timedelta(seconds=3), call.end, consult_id,
                         plan.uniqueid))  # fmt: skip
    answer = call.end + timedelta(seconds=dice.randint(0, 4) if transfer["kind"] == "blind" else 0)
    talk = timedelta(seconds=dice.randint(40, 240))
    legs.append(_leg(plan.caller_number, target, "from-internal", clid, caller_channel, target_channel,
                     "Dial", f"{pbx.operator_tech}/{target},30", call.end, answer, answer + talk,
                     plan.uniqueid, plan.uniqueid))  # fmt: skip
    return legs


def write_master_csv(path: Path, calls: list[RenderedCall], site: Site = DEMO) -> None:
    """The PBX's Master.csv: one row per call (Asterisk 11), or every leg in the order legs end (13)."""
    pbx = site.pbx
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        if pbx.cdr == "asterisk13":
            legs = [leg for n, call in enumerate(calls, start=1) for leg in _asterisk13_legs(site, call, n)]
            legs.sort(key=lambda leg: leg[11])  # written when a leg ends
            writer.writerows([*leg, str(sequence)] for sequence, leg in enumerate(legs, start=1))
            return
        for n, call in enumerate(calls, start=1):
            plan = call.plan
            internal = len(plan.caller_number) <= INTERNAL_MAX_DIGITS
            answered = call.recording is not None
            company = plan.client.company if plan.client else ""
            writer.writerow(
                [
                    "",
                    plan.caller_number,
                    pbx.queue,
                    "from-internal" if internal else "from-trunk",
                    f'"{company}" <{plan.caller_number}>' if company else plan.caller_number,
                    f"SIP/{plan.caller_number}-{n:08x}" if internal else f"{pbx.trunk}-{n:08x}",
                    f"{pbx.operator_tech}/{plan.operator.phone}-{n + 4096:08x}" if answered else "",
                    "Queue",
                    f"{pbx.queue_name},t",
                    _when(plan.start),
                    _when(call.answer),
                    _when(call.end),
                    str(call.ring + call.billsec),
                    str(call.billsec),
                    "ANSWERED" if answered else "NO ANSWER",
                    "DOCUMENTATION",
                    plan.uniqueid,
                    "",
                ]
            )


def queue_agent(site: Site, operator: Operator) -> str:
    """How queue_log names the operator: the member's channel or the member name the site gave them."""
    if site.pbx.queue_agent == "name" and operator.agent:
        return operator.agent
    return f"{site.pbx.operator_tech}/{operator.phone}"


def write_queue_log(path: Path, calls: list[RenderedCall], site: Site = DEMO) -> None:
    lines = []
    queue = site.pbx.queue_name
    for call in calls:
        plan = call.plan
        t0 = site.epoch(plan.start)
        agent = queue_agent(site, plan.operator)
        lines.append((t0, f"{t0}|{plan.uniqueid}|{queue}|NONE|ENTERQUEUE||{plan.caller_number}|1"))
        if call.recording is None:
            lines.append(
                (t0 + call.ring, f"{t0 + call.ring}|{plan.uniqueid}|{queue}|NONE|ABANDON|1|1|{call.ring}")
            )
            continue
        answered = t0 + call.ring
        lines.append(
            (answered, f"{answered}|{plan.uniqueid}|{queue}|{agent}|CONNECT|{call.ring}|{plan.uniqueid}|2")
        )
        transfer = plan.dialog.transfer
        end = answered + call.billsec
        if transfer and transfer["logged"]:
            at = answered + int(call.transfer_at or call.billsec)
            if transfer["kind"] == "blind":
                data = f"BLINDTRANSFER|{transfer['target']}|from-internal|{call.ring}|{call.billsec}|1"
            else:
                bridge = _bridge_id(site, plan.uniqueid, transfer["target"])
                data = f"ATTENDEDTRANSFER|BRIDGE|{bridge}|{call.ring}|{call.billsec}|1"
            lines.append((at, f"{at}|{plan.uniqueid}|{queue}|{agent}|{data}"))
        else:
            who = "COMPLETECALLER" if plan.dialog.dropped else "COMPLETEAGENT"
            lines.append((end, f"{end}|{plan.uniqueid}|{queue}|{agent}|{who}|{call.ring}|{call.billsec}|1"))
    lines.sort(key=lambda item: item[0])
    path.write_text("".join(line + "\n" for _, line in lines), encoding="utf-8")


def _bridge_id(site: Site, uniqueid: str, target: str) -> str:
    """The bridge an attended transfer names: Asterisk 13 logs a bridge UUID, not the target."""
    if site.pbx.cdr == "asterisk13":
        return str(uuid.UUID(hashlib.md5(f"{uniqueid}-{target}".encode()).hexdigest()))
    return f"{uniqueid}-{target}"


INCIDENT_COLUMNS = (
    "id", "created_at", "inn", "kpp", "phone", "knowledge_article", "operator", "status", "summary",
    "call_uniqueid",
)  # fmt: skip


def incident_rows(calls: list[RenderedCall], rng: random.Random, site: Site = DEMO) -> list[dict]:
    rows = []
    for call in calls:
        for incident in call.plan.incidents:
            incident.created_at = call.end + timedelta(seconds=rng.randint(20, 240))
            client = incident.client
            rows.append(
                {
                    "id": incident.number,
                    "created_at": f"{incident.created_at:%Y-%m-%d %H:%M:%S}",
                    "inn": client.inn if client else "",
                    "kpp": client.kpp if client else "",
                    "phone": call.plan.caller_number,
                    "knowledge_article": incident.article,
                    "operator": incident.operator.login
                    if site.pbx.helpdesk == "typed"
                    else incident.operator.code,
                    "status": rng.choice(("closed", "closed", "in_progress")),
                    "summary": incident.purpose,
                    "call_uniqueid": call.plan.uniqueid if incident.linked_in_export else "",
                }
            )
    return rows


# A helpdesk that people type into: Russian headers, `;` as Excel writes it, day.month.year dates.
TYPED_HEADERS = {
    "id": "Номер", "created_at": "Дата создания", "inn": "ИНН", "kpp": "КПП", "phone": "Телефон",
    "knowledge_article": "Статья", "operator": "Сотрудник", "status": "Статус", "summary": "Тема",
    "call_uniqueid": "ID звонка",
}  # fmt: skip
TYPED_STATUS = {"closed": "Закрыта", "in_progress": "В работе"}


def typed_phone(number: str, dice: random.Random) -> str:
    """A phone as a person types it: '+7 916 123-45-67', '8 (916) 123-45-67', '8-916-1234567' …"""
    if len(number) != 11:
        return number
    code, a, b, c = number[1:4], number[4:7], number[7:9], number[9:]
    return dice.choice(
        (f"+7 {code} {a}-{b}-{c}", f"8 ({code}) {a}-{b}-{c}", f"8-{code}-{a}{b}{c}", f"+7({code}){a}{b}{c}")
    )


def write_incidents(path: Path, rows: list[dict], site: Site = DEMO) -> None:
    if site.pbx.helpdesk != "typed":
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=INCIDENT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        return
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow([TYPED_HEADERS[column] for column in INCIDENT_COLUMNS])
        for row in rows:
            dice = random.Random(row["id"])
            typed = dict(
                row,
                created_at=f"{datetime.fromisoformat(row['created_at']):%d.%m.%Y %H:%M:%S}",
                phone=typed_phone(row["phone"], dice),
                status=TYPED_STATUS[row["status"]],
            )
            writer.writerow([typed[column] for column in INCIDENT_COLUMNS])


def write_roster(path: Path, operators: list[Operator]) -> None:
    """The operator roster as `callqa operators import` reads it: code, name, team, and where the site's
    records name operators otherwise, their extension, queue member name and helpdesk login."""
    identities = any(o.extension or o.agent or o.login for o in operators)
    columns = ("code", "name", "team") + (("extension", "agent", "login") if identities else ())
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for o in operators:
            row = {"code": o.code, "name": o.full_name, "team": o.team}
            if identities:
                row |= {"extension": o.extension, "agent": o.agent, "login": o.login}
            writer.writerow(row)


def write_profile(path: Path, site: Site) -> None:
    """The site profile (company, products, departments, script wording) the checklist's placeholders read."""
    company = f"company:\n  names: [{site.company}]\n"
    if site.company_spoken:
        company += f"  spoken: [{', '.join(site.company_spoken)}]\n"
    text = (
        "# The simulated site's profile: what its checklist's placeholders stand for.\n"
        f"{company}products: [{', '.join(site.products)}]\n"
        f"departments: [{', '.join(site.departments)}]\n"
    )
    if site.profile_script:
        text += "script:\n" + "".join(
            f"  {name}: [{', '.join(phrases)}]\n" for name, phrases in site.profile_script.items()
        )
    path.write_text(text, encoding="utf-8")


def duplicate_pairs(rows: list[dict]) -> list[tuple[str, str]]:
    """Same INN-KPP and knowledge article, created less than 7 days apart."""
    pairs = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if not a["inn"] or (a["inn"], a["kpp"], a["knowledge_article"]) != (
                b["inn"],
                b["kpp"],
                b["knowledge_article"],
            ):
                continue
            gap = abs(datetime.fromisoformat(a["created_at"]) - datetime.fromisoformat(b["created_at"]))
            if gap < timedelta(days=DUPLICATE_DAYS):
                pairs.append((a["id"], b["id"]))
    return pairs


def _question(dialog: Dialog) -> str:
    """What the caller asked about: the first question's topic (a call that dropped after the question
    asked it all the same), else the call's purpose."""
    return dialog.purposes[0] if dialog.purposes else dialog.purpose


def repeat_of(call: RenderedCall, earlier: list[RenderedCall]) -> str | None:
    """The latest earlier answered call of the same client with the same question within 7 days."""
    plan = call.plan
    if plan.client is None or plan.dialog is None or plan.dialog.registration != "regular":
        return None
    for previous in reversed(earlier):
        p = previous.plan
        if (
            p.client is plan.client
            and p.dialog is not None
            and p.dialog.registration == "regular"
            and _question(p.dialog) == _question(plan.dialog)
            and timedelta(0) < plan.start - p.start < timedelta(days=REPEAT_DAYS)
        ):
            return p.call_id
    return None
