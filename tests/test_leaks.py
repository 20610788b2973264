"""The privacy promise, proven: conversations full of identifying strings on both channels, with slash-command
injection and pathological input, the action server stalled so that the gateway's Rasa timeout expires (on a question
and on "forget me"), Rasa stalled and then killed midway; afterwards every file the system wrote is searched for each
string and its obvious variants, and what Rasa holds (its trackers, read through its token-protected API, which only
this test turns on) is searched too.

The whole service runs at DEBUG, Rasa included, with its temporary directory, home directory, logs and database under
one working directory; the search also reads the model directory and anything new in the system's temp directory.
"""
from __future__ import annotations

import gzip
import json
import re
import os
import secrets
import signal
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Dict, Iterable, List

import pytest

from bot.privacy.pseudonyms import Pseudonyms
from tests.fakes import running_stack
from tests.test_channels import Sms, TelegramUser, get
from tests.fakes import desk_update, take_press, telegram_update

# Fictitious: Ofcom's drama ranges, example.org, made-up names and documents.
PHONE_SENDER = "+447700900461"
CHAT_ID = 5550001234567
USERNAME = "zuleikha_secret_88"
IDENTIFYING = {
    "sender": PHONE_SENDER,
    "phone_in_text": "07700 900 982",
    "intl_phone": "+351 912 345 678",
    "arabic_digits_phone": "٠٧٧٠٠٩٠٠٥٥٥",
    "name": "Zuleikha Oyelaran",
    "name_es": "Gheorghita Vantuleanu",
    "name_ur": "Nargis Qureshiwala",
    "email": "zuleikha.oyelaran@example.org",
    "postcode": "SE15 3XQ",
    "address": "14 Pemberton Crescent",
    "ni": "QQ 12 34 56 C",
    "passport": "533380006",
    "chat_id": str(CHAT_ID),
    "username": USERNAME,
    "first_name": "Zuleikhaa",
}

#: injection and pathological input: a leading " /" naming an intent, punctuation runs spaCy was quadratic on
HOSTILE = [
    " /greet my name is Zuleikha Oyelaran",
    "\u200b//forget_me{} my number is 07700 900 982",
    "{" * 3000 + " my name is Zuleikha Oyelaran " + "?" * 1000,
]

SMS_SCRIPT = [
    "hello",
    "my name is Zuleikha Oyelaran and my number is 07700 900 982",
    "can the police tell the home office? my email is zuleikha.oyelaran@example.org",
    "I live at 14 Pemberton Crescent, SE15 3XQ",
    "my NI number is QQ 12 34 56 C and passport 533380006",
    "me llamo Gheorghita Vantuleanu, mi numero +351 912 345 678",
    "mera naam Nargis Qureshiwala hai, mera number ٠٧٧٠٠٩٠٠٥٥٥ hai",
]


def variants(value: str, name: str = "") -> List[str]:
    """The string and the forms it could take in a file: case, spacing, digits only, national and international
    phone forms, URL and JSON escaping."""
    forms = {value, value.lower(), value.upper(), value.replace(" ", ""), value.replace(" ", "").lower()}
    digits = "".join(ch for ch in value if ch.isdigit())
    ascii_digits = "".join(str(int(ch)) for ch in value if ch.isdigit())
    if len(ascii_digits) >= 7:
        forms |= {digits, ascii_digits}
        if ascii_digits.startswith("44"):
            forms |= {"0" + ascii_digits[2:], ascii_digits[2:]}
        if ascii_digits.startswith("0"):
            forms |= {"44" + ascii_digits[1:], ascii_digits[1:]}
    forms.add(urllib.parse.quote_plus(value))
    forms.add(json.dumps(value)[1:-1])
    if name.startswith(("name", "first_name")):
        forms |= {part for part in value.split() if len(part) >= 6 and part.isalpha()}  # each name part alone
    return sorted(f for f in forms if len(f) >= 5)


def files_under(*roots: Path) -> Iterable[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    yield path


def contents(path: Path) -> List[bytes]:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, PermissionError):  # a temporary file removed while we walked
        return []
    out = [data.lower()]
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            out.append(gzip.decompress(data).lower())
        except (OSError, EOFError):
            pass
    return out


def search(paths: Iterable[Path], needles: Dict[str, str]) -> List[str]:
    """Every (file, string name, form) where a form of an identifying string occurs, in UTF-8 or UTF-16."""
    patterns = []
    for name, value in needles.items():
        for form in variants(value, name):
            for encoding in ("utf-8", "utf-16-le"):
                patterns.append((name, form, form.lower().encode(encoding)))
    found = []
    for path in paths:
        for blob in contents(path):
            for name, form, pattern in patterns:
                if pattern in blob:
                    found.append(f"{path}: {name} as {form!r}")
    return found


@pytest.fixture(scope="module")
def leak_run(settings, model, tmp_path_factory):
    """Run the scripted conversations; yield the files to search (the service stopped, so everything is flushed)."""
    workdir = tmp_path_factory.mktemp("leak")
    started = time.time()
    system_tmp = Path(tempfile.gettempdir())
    before_tmp = set(system_tmp.iterdir())
    results: Dict[str, object] = {"trackers": {}}
    token = secrets.token_urlsafe(16)
    options = {"rasa_api_token": token, "rasa_log_level": "DEBUG"}
    with running_stack(settings, model, workdir, rate_limit=100, services_options=options,
                       telegram_desk_chat=DESK_CHAT) as stack:
        pseudonyms = Pseudonyms(stack.settings.pseudonym_key)
        senders = {"sms": pseudonyms.of("sms", PHONE_SENDER), "telegram": pseudonyms.of("telegram", str(CHAT_ID))}

        def held(when: str) -> None:
            results["trackers"][when] = {channel: tracker(stack, sender, token) for channel, sender in senders.items()}

        register_advocate(stack)
        sms = Sms(stack, PHONE_SENDER)
        tg = TelegramUser(stack, language_code="en")
        tg.chat_id = CHAT_ID

        def telegram(text: str) -> list:
            update = telegram_update(CHAT_ID, text, "en", username=USERNAME, first_name="Zuleikhaa")
            before = len(tg.replies())
            assert tg.deliver(update) == 200
            return tg.replies()[before:]

        for text in SMS_SCRIPT[:4] + HOSTILE:
            assert sms.say(text), text[:20]
            assert telegram(text), text[:20]

        # a handoff: her raw words go to an SMS advocate (never to a file), the advocate answers, she leaves
        results["handoff"] = handoff_round(stack, sms)
        # and one from Telegram to the advocates' supergroup: her words copied into the case's topic
        results["telegram_handoff"] = telegram_handoff_round(stack, telegram, tg)

        # the action server stalls: the gateway's Rasa timeout expires while Rasa still holds the message
        actions_pid = stack.services.pids["actions"]
        os.kill(actions_pid, signal.SIGSTOP)
        try:
            results["stalled_actions_replies"] = sms.say(SMS_SCRIPT[1])
        finally:
            os.kill(actions_pid, signal.SIGCONT)
        time.sleep(1.0)
        held("before_forget")

        # Rasa stalls: she is answered within the timeout, in her language, with 999 and the helplines
        rasa_pid = stack.services.pids["rasa"]
        os.kill(rasa_pid, signal.SIGSTOP)
        try:
            started_at = time.monotonic()
            slow = sms.say(SMS_SCRIPT[4])
            results["slow_seconds"] = time.monotonic() - started_at
            results["slow_replies"] = slow
        finally:
            os.kill(rasa_pid, signal.SIGCONT)

        # Rasa crashes: the same short reply, at once; readiness says so
        stack.services.kill("rasa")
        started_at = time.monotonic()
        results["crash_replies"] = sms.say(SMS_SCRIPT[5]) + telegram(SMS_SCRIPT[5])
        results["crash_seconds"] = time.monotonic() - started_at
        results["ready_while_down"] = get(f"{stack.gateway_url}/readyz",
                                          {"Authorization": f"Bearer {stack.settings.status_token}"})
        results["ready_while_down_public"] = get(f"{stack.gateway_url}/readyz")

        stack.services.start_rasa()
        stack.services.wait_for_rasa()
        assert sms.say(SMS_SCRIPT[6])
        assert telegram(SMS_SCRIPT[6])
        held("after_restart")
        # "forget me" while the action server stalls: Rasa cannot confirm within the timeout (finding 3)
        os.kill(actions_pid, signal.SIGSTOP)
        try:
            results["sms_forget"] = sms.say("forget me")
        finally:
            os.kill(actions_pid, signal.SIGCONT)
        results["telegram_forget"] = telegram("/forget")
        results["deleted"] = stack.telegram.named("/deleteMessages")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the gateway retries the forget until Rasa confirms it
            held("after_forget")
            if not any(user_texts(t) for t in results["trackers"]["after_forget"].values()):
                break
            time.sleep(1.0)
        logs = stack.logs
    new_tmp = [p for p in system_tmp.iterdir() if p not in before_tmp and p.stat().st_mtime >= started
               and not p.name.startswith(("pytest-of-", "bash_jobs"))]
    yield {"files": list(files_under(workdir, logs, settings.models_dir, *new_tmp)), "workdir": workdir,
           **results}


ADVOCATE = "+447700900777"
DESK_CHAT, DESK_ADVOCATE = -1009876543210, 4201
HANDOFF_WORDS = "my name is Zuleikha Oyelaran, I live at 14 Pemberton Crescent SE15 3XQ, call 07700 900 982"


def register_advocate(stack) -> None:
    """In the running service's database, before any message (the gateway reads the list at most every 30 s)."""
    import sqlalchemy

    from bot.handoff.advocates import Advocates
    from bot.handoff.model import DeskKind

    engine = sqlalchemy.create_engine(stack.settings.database_url, future=True)
    Advocates(engine, ("en",)).add(DeskKind.SMS, ADVOCATE, "Ana", ["en"])
    Advocates(engine, ("en",)).add(DeskKind.TELEGRAM, str(DESK_ADVOCATE), "Cleo", ["en"])
    engine.dispose()


def handoff_round(stack, sms) -> dict:
    """With an advocate registered: she asks for a person, says 1, gives her details
    (relayed raw), the advocate takes the case and answers, she leaves."""
    from tests.test_channels import Sms

    advocate = Sms(stack, ADVOCATE)
    consent = sms.say("i want to talk to a real person, not a bot")
    queued = sms.say("1")
    announced = [p["Body"] for p in stack.twilio.sent() if p.get("To") == ADVOCATE]
    code = announced[0].split()[2] if announced else ""
    sms.say(HANDOFF_WORDS)
    advocate.say(f"TAKE {code}")
    connected = sms.replies()[-1:]
    advocate.say(f"{code} Hello, I am Ana from the service.")
    answered = sms.replies()[-1:]
    left = sms.say("bot")
    to_advocate = [p["Body"] for p in stack.twilio.sent() if p.get("To") == ADVOCATE]
    return {"consent": consent, "queued": queued, "code": code, "connected": connected, "answered": answered,
            "left": left, "to_advocate": to_advocate}


def telegram_handoff_round(stack, telegram, tg) -> dict:
    """From her Telegram chat: a person, 1, her details (copied into the case's topic), the Telegram advocate takes
    the case with the button and answers in the topic, she leaves."""
    telegram("i want to talk to a real person, not a bot")
    before = len(stack.telegram.named("/createForumTopic"))
    telegram("1")
    created = stack.telegram.named("/createForumTopic")[before:]
    topic = max(stack.telegram.topics) if created else None
    code = created[0].params["name"].split(" · ")[0] if created else ""
    telegram(HANDOFF_WORDS)
    copies = [c.params for c in stack.telegram.named("/copyMessage")]
    assert tg.deliver(take_press(DESK_CHAT, DESK_ADVOCATE, topic, f"take:{code}")) == 200
    assert tg.deliver(desk_update(DESK_CHAT, DESK_ADVOCATE, "Hello, I am Cleo from the service.", topic)) == 200
    answered = [c["text"] for c in stack.telegram.sent(CHAT_ID)][-1:]
    left = telegram("bot")
    return {"code": code, "topic": topic, "copies": copies, "answered": answered, "left": left}


def tracker(stack, sender: str, token: str) -> dict:
    """What Rasa holds for one conversation (its HTTP API, on for this test only, localhost, token-protected)."""
    url = f"{stack.settings.rasa_url}/conversations/{sender}/tracker?" + urllib.parse.urlencode({"token": token})
    status, body = get(url)
    assert status == 200, status
    return body


def user_texts(tracker_json: dict) -> List[str]:
    return [str(e.get("text")) for e in tracker_json.get("events", []) if e.get("event") == "user"]


def test_what_rasa_holds_has_placeholders_and_none_of_her_details(leak_run):
    before = leak_run["trackers"]["before_forget"]
    texts = user_texts(before["sms"]) + user_texts(before["telegram"])
    assert len(texts) >= 12, texts  # the control: there is something to search
    joined = "\n".join(texts)
    assert "[name]" in joined and "[phone]" in joined and "[email]" in joined
    assert search_text(joined, IDENTIFYING) == []
    assert not any(t.lstrip().startswith("/") and t not in ("/greet", "/forget_me") for t in texts), texts


def test_forget_me_empties_rasas_tracker_even_when_rasa_was_too_slow_to_confirm(leak_run):
    assert user_texts(leak_run["trackers"]["after_restart"]["sms"]), "the control: she had a tracker"
    after = leak_run["trackers"]["after_forget"]
    assert user_texts(after["sms"]) == [] and user_texts(after["telegram"]) == []


def search_text(text: str, needles: Dict[str, str]) -> List[str]:
    blob = text.lower()
    return [f"{name} as {form!r}" for name, value in needles.items() for form in variants(value, name)
            if form.lower() in blob]


def test_a_telegram_handoff_copies_her_words_into_the_case_topic_and_answers_her(leak_run):
    handoff = leak_run["telegram_handoff"]
    assert handoff["code"] and handoff["topic"], "a topic was opened for her case"
    mine = [c for c in handoff["copies"] if int(c["from_chat_id"]) == CHAT_ID]
    assert mine and all(int(c["message_thread_id"]) == handoff["topic"] for c in mine), "copied, into her topic"
    assert handoff["answered"] == ["Hello, I am Cleo from the service."]
    assert handoff["left"] and "has ended" in str(handoff["left"][0])


def test_a_handoff_relays_her_words_raw_to_the_advocate_and_back(leak_run):
    handoff = leak_run["handoff"]
    assert handoff["consent"] and "Reply 1" in handoff["consent"][0], handoff["consent"]
    assert handoff["code"], "the request was announced to the advocate"
    assert f"{handoff['code']}: {HANDOFF_WORDS}" in handoff["to_advocate"], "raw: she may need to give an address"
    assert handoff["answered"] and handoff["answered"][0].endswith("Hello, I am Ana from the service.")
    assert handoff["left"] and "has ended" in handoff["left"][0]


def test_no_identifying_string_is_in_any_file_the_system_wrote(leak_run):
    files = leak_run["files"]
    names = {p.name for p in files}
    assert {"gateway.log", "rasa.log", "actions.log", "assistant.db"} <= names, names
    assert sum(p.stat().st_size for p in files if p.name == "gateway.log") > 1000, "the gateway logged at DEBUG"
    assert search(files, IDENTIFYING) == []


def test_the_search_finds_what_is_there(leak_run, tmp_path):
    """The search itself must be able to fail: a planted copy of each string in each form is found."""
    planted = tmp_path / "planted.log"
    planted.write_text("x " + " | ".join(IDENTIFYING.values()) + " x", encoding="utf-8")
    hits = search([planted], IDENTIFYING)
    assert {hit.split(": ")[1].split(" as ")[0] for hit in hits} == set(IDENTIFYING)
    utf16 = tmp_path / "planted16.bin"
    utf16.write_bytes(IDENTIFYING["email"].encode("utf-16-le"))
    assert search([utf16], {"email": IDENTIFYING["email"]})


def test_the_database_holds_counts_only(leak_run):
    import sqlite3

    connection = sqlite3.connect(leak_run["workdir"] / "assistant.db")
    tables = [r[0] for r in connection.execute("select name from sqlite_master where type='table'")]
    assert sorted(tables) == ["advocates", "alembic_version", "cases", "delivery_keys", "event_counts"]
    assert connection.execute("select count(*) from advocates").fetchone() == (2,)  # one by SMS, one on Telegram
    cases = connection.execute("select * from cases").fetchall()
    assert sorted((c[1], c[3], c[-1]) for c in cases) == [("en", "sms", "she_left"), ("en", "telegram", "she_left")]
    for case in cases:
        assert re.fullmatch(r"([a-z_]+(,[a-z_]+)*)?", case[2]), "topic names only"
    keys = connection.execute("select key, day from delivery_keys").fetchall()
    assert keys and all(re.fullmatch(r"[0-9a-f]{48}", key) for key, _ in keys), "keyed hashes only"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", str(day)) for _, day in keys), "a day, nothing finer"
    rows = connection.execute("select event, channel, language, topic, count from event_counts").fetchall()
    events = {r[0] for r in rows}
    assert {"answered", "degraded", "forgotten", "redacted_phone", "redacted_name"} <= events, events
    assert all(isinstance(r[4], int) and r[4] > 0 for r in rows)


def test_a_slow_rasa_still_gets_her_an_answer_with_the_emergency_line(leak_run):
    assert leak_run["slow_seconds"] < 3.5  # the stack's rasa_timeout is 2 s
    assert any("999" in body and "0808 2000 247" in body for body in leak_run["slow_replies"])


def test_a_crashed_rasa_still_gets_her_an_answer_at_once(leak_run):
    assert leak_run["crash_seconds"] < 2.0
    bodies = [r if isinstance(r, str) else r["text"] for r in leak_run["crash_replies"]]
    assert len(bodies) == 2 and all("999" in b and "0808 2000 247" in b for b in bodies)
    status, body = leak_run["ready_while_down"]
    assert status == 503 and body["rasa"] is False
    assert leak_run["ready_while_down_public"] == (503, {"status": "not ready"}), "which part: for the operator"


def test_forget_me_works_on_both_channels_after_the_crash(leak_run, store):
    confirmations = {" ".join(store.render("forget_me", code, "sms", True)[0].text.split())
                     for code in store.languages.codes}
    received = " ".join(" ".join(body.split("\n", 1)[1].split()) for body in leak_run["sms_forget"])
    assert received in confirmations
    from bot.channels.telegram_format import to_html

    full_forms = {to_html(store.render("forget_me", code, "telegram", True)[0].text) for code in store.languages.codes}
    assert leak_run["telegram_forget"] and leak_run["telegram_forget"][-1]["text"] in full_forms
    assert any(int(c.params["chat_id"]) == CHAT_ID for c in leak_run["deleted"])
