"""The PBX and helpdesk side of the simulation: Master.csv, queue_log, incident export, ground truth."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from simulator.dialogs import CHECKLIST
from simulator.mixing import TimedTurn
from simulator.numbers import spell_digits
from simulator.plan import CallPlan

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


def write_master_csv(path: Path, calls: list[RenderedCall]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        for n, call in enumerate(calls, start=1):
            plan = call.plan
            internal = len(plan.caller_number) <= INTERNAL_MAX_DIGITS
            answered = call.recording is not None
            company = plan.client.company if plan.client else ""
            writer.writerow(
                [
                    "",
                    plan.caller_number,
                    "8800",
                    "from-internal" if internal else "from-trunk",
                    f'"{company}" <{plan.caller_number}>' if company else plan.caller_number,
                    f"SIP/{plan.caller_number}-{n:08x}" if internal else f"SIP/trunk-{n:08x}",
                    f"SIP/{plan.operator.code}-{n + 4096:08x}" if answered else "",
                    "Queue",
                    "support,t",
                    f"{plan.start:%Y-%m-%d %H:%M:%S}",
                    f"{call.answer:%Y-%m-%d %H:%M:%S}" if answered else "",
                    f"{call.end:%Y-%m-%d %H:%M:%S}",
                    str(call.ring + call.billsec),
                    str(call.billsec),
                    "ANSWERED" if answered else "NO ANSWER",
                    "DOCUMENTATION",
                    plan.uniqueid,
                    "",
                ]
            )


def write_queue_log(path: Path, calls: list[RenderedCall]) -> None:
    lines = []
    for call in calls:
        plan = call.plan
        t0 = int(plan.start.timestamp())
        agent = f"SIP/{plan.operator.code}"
        lines.append((t0, f"{t0}|{plan.uniqueid}|support|NONE|ENTERQUEUE||{plan.caller_number}|1"))
        if call.recording is None:
            lines.append(
                (t0 + call.ring, f"{t0 + call.ring}|{plan.uniqueid}|support|NONE|ABANDON|1|1|{call.ring}")
            )
            continue
        answered = t0 + call.ring
        lines.append(
            (answered, f"{answered}|{plan.uniqueid}|support|{agent}|CONNECT|{call.ring}|{plan.uniqueid}|2")
        )
        transfer = plan.dialog.transfer
        end = answered + call.billsec
        if transfer and transfer["logged"]:
            at = answered + int(call.transfer_at or call.billsec)
            if transfer["kind"] == "blind":
                data = f"BLINDTRANSFER|{transfer['target']}|from-internal|{call.ring}|{call.billsec}|1"
            else:
                bridge = f"{plan.uniqueid}-{transfer['target']}"
                data = f"ATTENDEDTRANSFER|BRIDGE|{bridge}|{call.ring}|{call.billsec}|1"
            lines.append((at, f"{at}|{plan.uniqueid}|support|{agent}|{data}"))
        else:
            who = "COMPLETECALLER" if plan.dialog.dropped else "COMPLETEAGENT"
            lines.append((end, f"{end}|{plan.uniqueid}|support|{agent}|{who}|{call.ring}|{call.billsec}|1"))
    lines.sort(key=lambda item: item[0])
    path.write_text("".join(line + "\n" for _, line in lines), encoding="utf-8")


INCIDENT_COLUMNS = (
    "id", "created_at", "inn", "kpp", "phone", "knowledge_article", "operator", "status", "summary",
    "call_uniqueid",
)  # fmt: skip


def incident_rows(calls: list[RenderedCall], rng: random.Random) -> list[dict]:
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
                    "operator": incident.operator.code,
                    "status": rng.choice(("closed", "closed", "in_progress")),
                    "summary": incident.purpose,
                    "call_uniqueid": call.plan.uniqueid if incident.linked_in_export else "",
                }
            )
    return rows


def write_incidents(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=INCIDENT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def write_roster(path: Path, operators: list[dict]) -> None:
    """The operator roster (code, name, team), as `callqa operators import` reads it."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=("code", "name", "team"))
        writer.writeheader()
        writer.writerows(operators)


def write_profile(path: Path, company: str, products: tuple[str, ...], departments: tuple[str, ...]) -> None:
    """The site profile (company, products, departments) the checklist's placeholders read."""
    path.write_text(
        "# The simulated site's profile: what its checklist's placeholders stand for.\n"
        f"company:\n  names: [{company}]\nproducts: [{', '.join(products)}]\n"
        f"departments: [{', '.join(departments)}]\n",
        encoding="utf-8",
    )


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


def repeat_of(call: RenderedCall, earlier: list[RenderedCall]) -> str | None:
    """The latest earlier answered call of the same client about the same purpose within 7 days."""
    plan = call.plan
    if plan.client is None or plan.dialog is None or plan.dialog.registration != "regular":
        return None
    for previous in reversed(earlier):
        p = previous.plan
        if (
            p.client is plan.client
            and p.dialog is not None
            and p.dialog.registration == "regular"
            and p.dialog.purpose == plan.dialog.purpose
            and timedelta(0) < plan.start - p.start < timedelta(days=REPEAT_DAYS)
        ):
            return p.call_id
    return None
