"""One call: audio and transcript side by side, metrics, scorecard with overrides, links, responses."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from contracts import DECISIONS, undecided
from qa_dashboard.common import clock, engine, moment, operator_label, purpose_labels, purpose_title, viewer
from store.api import (
    AccessDenied,
    add_coaching_note,
    agreement,
    call_audio,
    correct_purpose,
    decide_candidate,
    link_incident_by_number,
    open_call,
    override_verdict,
    respond,
)


def _call_id() -> int | None:
    raw = st.query_params.get("call") or st.session_state.get("call_id")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


AUDIO_TYPES = {".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".flac": "audio/flac"}


def _audio(call: dict) -> None:
    who = viewer()
    # Asked once per opened call and viewer: every click on a turn reruns the page, and each ask is an
    # audited listen.
    if st.session_state.get("audio_of") != (who.username, call["id"]):
        with engine().begin() as conn:
            st.session_state["audio"] = call_audio(conn, who, call["id"])
        st.session_state["audio_of"] = (who.username, call["id"])
    audio = st.session_state["audio"]
    if audio.path is None or not Path(audio.path).exists():
        st.info(audio.message or "No recording for this call.")
        return
    mime = AUDIO_TYPES.get(Path(audio.path).suffix.lower(), "audio/wav")
    start = int(st.session_state.get("start_time", 0))
    st.audio(Path(audio.path).read_bytes(), format=mime, start_time=start)


def _transcript(call: dict) -> None:
    st.subheader("Transcript")
    for i, u in enumerate(call["utterances"]):
        left, right = st.columns([1, 6])
        if left.button(f"▶ {clock(u['start'])}", key=f"turn-{i}"):
            st.session_state["start_time"] = int(u["start"])
            st.rerun()
        speaker = {
            "operator": ":material/support_agent: Operator",
            "customer": ":material/person: Customer",
        }.get(u["role"], ":material/help: Unknown")
        flag = " · overlap" if u.get("overlap") else ""
        right.markdown(f"**{speaker}**{flag}: {u['normalized_text'] or u['text']}")


MARKS = {"pass": ":green-badge[pass]", "fail": ":red-badge[fail]", "n/a": ":gray-badge[n/a]",
         "uncertain": ":orange-badge[uncertain]"}  # fmt: skip


def _item_title(item: dict) -> str:
    """An item's title; a forbidden phrase found says what its verdicts mean (fail: it was said)."""
    if item.get("kind") == "forbidden":
        return f"Forbidden phrase: {item['title']} (fail = said, pass = not said)"
    return item["title"]


def _scorecard(call: dict) -> None:
    who = viewer()
    classified = call.get("classify") or {}
    machine_items = (classified.get("compliance") or {}).get("items", [])
    items, score = call["scorecard"]["items"], call["scorecard"]["score"]  # people's overrides applied
    pending = undecided(items)
    # A score with items still to decide is of the decided ones: it may yet fall.
    so_far = f" so far ({len(pending)} item(s) to decide)" if pending and score is not None else ""
    st.subheader(f"Scorecard: {'–' if score is None else f'{score:.0f}'} / 100{so_far}")
    if pending:
        critical = [i["title"] for i in items if i["verdict"] == "uncertain" and i.get("critical")]
        wait = (
            f" The call has no score yet: a critical item ({', '.join(critical)}) may fail it."
            if critical else ""
        )  # fmt: skip
        st.warning(
            f"{len(pending)} item(s) uncertain: the machine was not sure, so they count in no score until "
            f"a person decides them (listen at the moment, then override).{wait}"
        )
    for item in items:
        evidence = item.get("evidence")
        mark = MARKS.get(item["verdict"], item["verdict"])
        cols = st.columns([5, 2, 3])
        note = (
            f" (overridden by {item['decided_by']}: {item['decision_reason']})"
            if item.get("decided_by")
            else ""
        )
        leaning = (
            f" · leans {item['leaning']}" if item["verdict"] == "uncertain" and item.get("leaning") else ""
        )
        # A person's decision is the verdict now: the machine's confidence in its own says nothing of it.
        sure = "" if item.get("decided_by") else f" · confidence {item['confidence']:.2f}"
        cols[0].markdown(f"{mark} **{_item_title(item)}**{sure}{leaning}{note}")
        if evidence and cols[1].button(f"▶ {clock(evidence['start'])}", key=f"evidence-{item['id']}"):
            st.session_state["start_time"] = int(evidence["start"])
            st.rerun()
        if item["verdict"] == "uncertain" and item.get("reason"):
            cols[2].caption(f"Why uncertain: {item['reason']}")
        elif evidence and evidence.get("matched"):
            cols[2].caption(f"“{evidence['matched']}”")
        elif item["verdict"] == "pass" and item.get("reason") and not item.get("decided_by"):
            # The machine's own pass on something no words quote (a second reading of the digits); a person's
            # decision keeps the machine's reason, which then is not why it passed.
            cols[2].caption(f"Why pass: {item['reason']}")
    if who.may("override") and items:
        with st.form("override"):
            st.markdown("**Override a verdict**")
            titles = {i["id"]: _item_title(i) for i in items}
            first = next((n for n, i in enumerate(items) if i["verdict"] == "uncertain"), 0)
            item = st.selectbox(
                "Item", list(titles), index=first, format_func=titles.get, key="override-item"
            )
            verdict = st.radio("Verdict", list(DECISIONS), horizontal=True, key="override-verdict")
            reason = st.text_input("Reason (required)", key="override-reason")
            if st.form_submit_button("Save override"):
                try:
                    with engine().begin() as conn:
                        override_verdict(conn, who, call["id"], item, verdict, reason)
                    # Saved: the form starts afresh on the next uncertain item (a failed save keeps it).
                    for key in ("override-item", "override-verdict", "override-reason"):
                        st.session_state.pop(key, None)
                    st.rerun()
                except ValueError as e:
                    st.error(str(e))
    overrides = [e for e in call["evaluations"] if e["kind"] == "override"]
    if overrides:
        with st.expander(f"History of overrides ({len(overrides)})"):
            for e in overrides:
                st.write(
                    f"{e['created_at']} · {e['evaluator']}: {e['item_id']} → {e['verdict']} ({e['reason']})"
                )
    _calibration(call, machine_items)


def _calibration(call: dict, machine_items: list[dict]) -> None:
    who = viewer()
    if not who.may("calibrate") or not machine_items:
        return
    mine = [e for e in call["evaluations"] if e["kind"] == "calibration" and e["evaluator"] == who.username]
    with st.expander("Calibration (blind)"):
        if not mine:
            with st.form("calibration"):
                verdicts = {i["id"]: st.radio(i["title"], list(DECISIONS), horizontal=True,
                                              key=f"cal-{i['id']}") for i in machine_items}  # fmt: skip
                if st.form_submit_button("Submit my scores"):
                    with engine().begin() as conn:
                        for item, verdict in verdicts.items():
                            override_verdict(
                                conn, who, call["id"], item, verdict, "calibration", kind="calibration"
                            )
                    st.rerun()
            return
        result = agreement({i["id"]: i["verdict"] for i in machine_items},
                           [e for e in call["evaluations"] if e["kind"] == "calibration"])  # fmt: skip
        between, machine = result["between_evaluators"], result["with_machine"]
        st.write(f"{result['evaluators']} evaluator(s); agreement between them: "
                 f"{'–' if between is None else f'{between:.0%}'}; with the machine: "
                 f"{'–' if machine is None else f'{machine:.0%}'}")  # fmt: skip


def _links(call: dict) -> None:
    who = viewer()
    outcome = call.get("outcome") or {}
    st.subheader("Incidents")
    for link in call["links"]:
        duplicate = " · duplicate" if link["duplicate"] else ""
        st.write(
            f":material/link: {link['incident']} ({link['source']}, {link['confidence']:.2f}){duplicate}"
        )
    pending = [c for c in call["candidates"] if c["decision"] == "pending"]
    if not call["links"] and not pending:
        st.caption("No linked incident and no suggestion." if outcome else "")
    if who.may("decide_links"):
        left, right = st.columns([3, 1])
        number = left.text_input("Link another incident (number)", key="link-number")
        if right.button("Link") and number:
            try:
                with engine().begin() as conn:
                    link_incident_by_number(conn, who, call["id"], number)
                st.rerun()
            except LookupError as e:
                st.error(str(e))
    for candidate in pending:
        cols = st.columns([4, 1, 1])
        cols[0].write(
            f":material/help: suggested {candidate['incident']} · {candidate['confidence']:.2f} · "
            + "; ".join(candidate["reasons"])
        )
        if who.may("decide_links"):
            for col, accept, label in ((cols[1], True, "Accept"), (cols[2], False, "Reject")):
                if col.button(label, key=f"{label}-{candidate['incident']}"):
                    with engine().begin() as conn:
                        decide_candidate(conn, who, call["id"], candidate["incident_id"], accept)
                    st.rerun()


def _responses(call: dict) -> None:
    who = viewer()
    for r in call["responses"]:
        st.write(f":material/chat: {r['author']} — {r['action']}: {r['comment'] or ''}")
    for note in call["coaching"]:
        st.write(f":material/school: {note['author']}: {note['note']}")
    if who.may("respond"):
        comment = st.text_input("Comment (required to dispute)")
        left, right = st.columns(2)
        for col, action in ((left, "acknowledge"), (right, "dispute")):
            if col.button(action.capitalize()):
                try:
                    with engine().begin() as conn:
                        respond(conn, who, call["id"], action, comment)
                    st.rerun()
                except ValueError as e:
                    st.error(str(e))
    if who.may("resolve") and _open_dispute(call["responses"]):
        _resolve_form(call)
    if who.may("coach"):
        note = st.text_area("Coaching note")
        if st.button("Add note") and note:
            with engine().begin() as conn:
                add_coaching_note(conn, who, call["id"], note)
            st.rerun()


def _open_dispute(responses: list[dict]) -> bool:
    """Whether the operator's last dispute of the call waits for a resolution."""
    actions = [r["action"] for r in responses if r["action"] in ("dispute", "resolve")]
    return bool(actions) and actions[-1] == "dispute"


UNCHANGED = "as it is"


def _resolve_form(call: dict) -> None:
    """Resolve the operator's dispute: why, and the verdicts of the disputed items as settled."""
    items = call["scorecard"]["items"]
    with st.form("resolve"):
        st.markdown("**Resolve the dispute**")
        resolution = st.text_input("Resolution (why)", key="resolution")
        settled = {}
        for item in items:
            choice = st.selectbox(f"{_item_title(item)} (now {item['verdict']})",
                                  [UNCHANGED, "pass", "fail", "n/a"], key=f"settle-{item['id']}")  # fmt: skip
            if choice != UNCHANGED:
                settled[item["id"]] = choice
        if st.form_submit_button("Resolve dispute"):
            try:
                with engine().begin() as conn:
                    respond(conn, viewer(), call["id"], "resolve", resolution, settled or None)
                for item in items:  # resolved: nothing of the form stays (a failed save keeps it)
                    st.session_state.pop(f"settle-{item['id']}", None)
                st.session_state.pop("resolution", None)
                st.rerun()
            except ValueError as e:
                st.error(str(e))


def _purpose(call: dict, outcome: dict) -> None:
    """The call's purposes (a call with several questions has several) and, for whoever may override
    verdicts, a correction: it counts at once and teaches the purpose model at its next training."""
    probability = outcome.get("purpose_probability")
    shown = f"p = {probability:.2f}" if probability else None
    st.metric("Purpose", purpose_title(outcome.get("purpose")), shown)
    purposes = outcome.get("purposes") or []
    if len(purposes) > 1:
        st.caption("Also asked about: " + ", ".join(purpose_title(p["label"]) for p in purposes[1:]))
    corrections = call.get("purpose_corrections") or []
    if corrections:
        last = corrections[-1]
        st.caption(f"Purpose corrected by {last['corrected_by']} at {last['created_at']}"
                   + (f": {last['reason']}" if last.get("reason") else ""))  # fmt: skip
    who = viewer()
    if not who.may("override"):
        return
    with st.expander("Correct the purpose"), st.form("purpose-correction"):
        choices = list(dict.fromkeys([*(p["label"] for p in purposes), *purpose_labels()]))
        if choices:
            label = st.selectbox("Purpose", choices, format_func=purpose_title, key="purpose-label")
        else:
            label = st.text_input("Purpose label", key="purpose-label")
        reason = st.text_input("Reason (optional)", key="purpose-reason")
        if st.form_submit_button("Save purpose"):
            try:
                with engine().begin() as conn:
                    correct_purpose(conn, who, call["id"], label or "", reason)
                st.rerun()
            except ValueError as e:
                st.error(str(e))


_ROLES_FROM = {
    "channel_map": "the PBX's channel map",
    "voiceprint": "the operator's enrolled voice",
    "site_script": "who speaks the site's script",
    "greeting": "who greets",
    "first_speaker": "who spoke first (nothing else to go by)",
    "single_speaker": "one speaker heard",
}


def roles_line(transcribed: dict) -> str | None:
    """How the transcript's operator and customer were told apart, and how sure that is (a mono line's
    roles are a guess a controller should weigh); None for a call transcribed before it was recorded."""
    method = transcribed.get("roles_from")
    if not method:
        return None
    line = f"Who said what: {_ROLES_FROM.get(method, method)}"
    if transcribed.get("layout") != "stereo" and transcribed.get("roles_confidence") is not None:
        line += f" on one mixed channel (sure {transcribed['roles_confidence']:.0%})"
    return line


def call_page() -> None:
    call_id = _call_id()
    if call_id is None:
        st.title("Call")
        st.info("Open a call from the Calls page or a search hit.")
        return
    st.query_params["call"] = str(call_id)
    try:
        with engine().begin() as conn:
            call = open_call(conn, viewer(), call_id)
    except (AccessDenied, LookupError) as e:
        st.title("Call")
        st.error(f"This call cannot be opened: {e}")
        return
    outcome = call.get("outcome") or {}
    st.title(f"Call {call['uniqueid']}")
    st.caption(
        f"Operator {operator_label(call['operator'], outcome.get('operator_name'))} · "
        f"team {call['team'] or '–'} · {moment(outcome.get('start_at'))}"
    )
    left, right = st.columns([3, 2])
    with left:
        _audio(call)
        _transcript(call)
    with right:
        metrics = (call.get("transcribe") or {}).get("metrics") or {}
        _purpose(call, outcome)
        st.write("Excluded: " + (", ".join(outcome.get("exclusion_reasons") or []) or "no"))
        if outcome.get("transfer"):
            st.write(
                f"Transfer: {outcome['transfer'].get('kind')} → {outcome['transfer'].get('target') or '?'}"
            )
        roles = roles_line(call.get("transcribe") or {})
        if roles:
            st.write(roles)
        if metrics:
            talk = metrics.get("talk_time", {})
            st.write(
                f"Talk: operator {clock(talk.get('operator'))}, customer {clock(talk.get('customer'))}  \n"
                f"Silence {metrics.get('silence_share', 0):.0%} · holds {len(metrics.get('holds', []))} · "
                f"overtalk {metrics.get('overtalk_seconds', 0):.1f} s"
            )
        _scorecard(call)
        _links(call)
        _responses(call)
