"""The handoff's records (issue 9, first part): the advocates' registry, case records that hold nothing identifying,
and the claim that gives a case to exactly one advocate when several press Take at once (real SQLite and
PostgreSQL, one engine per claimant as separate gateway processes would have)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading

import pytest
import sqlalchemy

from bot.handoff.advocates import AdvocateError, Advocates
from bot.handoff.cases import Cases
from bot.handoff.model import CODE_ALPHABET, AlreadyClaimed, DeskKind, NotYours, Outcome, UnknownCase, parse_code
from bot.settings import ROOT
from bot.storage.schema import migrate

LANGUAGES = ("en", "es", "ar")


@pytest.fixture
def url(database_url):
    return database_url


@pytest.fixture
def engine(url):
    engine = sqlalchemy.create_engine(url, future=True)
    migrate(engine)
    yield engine
    engine.dispose()


def test_case_codes_are_short_unambiguous_and_read_leniently():
    assert not set(CODE_ALPHABET) & set("0O1IL5S2Z8B")
    assert parse_code(" 7f3k.") == "7F3K" and parse_code("7F3") is None and parse_code("70OK") is None


def test_advocates_are_registered_checked_and_found(engine):
    registry = Advocates(engine, LANGUAGES)
    suffix = str(os.getpid())[-3:]
    ana = registry.add(DeskKind.SMS, f"07700 900{suffix}", "Ana", ["es", "en"])
    assert ana.address == f"+447700900{suffix}" and ana.languages == ("es", "en")
    assert registry.find(DeskKind.SMS, f"+44 7700 900{suffix}") == ana
    assert registry.find(DeskKind.TELEGRAM, f"+447700900{suffix}") is None
    assert f"900{suffix}" not in repr(ana)
    for desk, address, display, languages in [
        (DeskKind.SMS, f"+447700900{suffix}", "Ana", ["es"]),   # already registered
        (DeskKind.TELEGRAM, "@ana", "Ana", ["es"]),              # a username, not an id
        (DeskKind.SMS, "12", "Ana", ["es"]),                      # not a phone number
        (DeskKind.SMS, "+447700900998", "", ["es"]),              # no name shown
        (DeskKind.SMS, "+447700900998", "Ana", ["xx"]),           # a language the service does not speak
    ]:
        with pytest.raises(AdvocateError):
            registry.add(desk, address, display, languages)
    registry.remove(ana.id)
    assert registry.find(DeskKind.SMS, f"+447700900{suffix}") is None, "removed advocates cannot act"
    assert registry.get(ana.id).address.startswith("removed-"), "her contact details are blanked"


def test_a_case_record_holds_nothing_that_identifies_her(engine):
    record = Cases(engine).open("es", ["police_immigration", "status_worry", "police_immigration"], "sms",
                                today=dt.date(2026, 11, 30))
    with engine.connect() as connection:
        row = dict(connection.execute(sqlalchemy.text("select * from cases where code = :c"),
                                      {"c": record.code}).mappings().one())
    assert set(row) == {"code", "language", "topics", "channel", "opened_on", "advocate_id",
                        "seconds_to_first_response", "seconds_handled", "outcome"}
    assert row["topics"] == "police_immigration,status_worry" and str(row["opened_on"]) == "2026-11-30"


def test_exactly_one_of_many_simultaneous_claims_wins(url, engine):
    code = Cases(engine).open("ar", ["emergency"], "telegram").code
    engines = [sqlalchemy.create_engine(url, future=True) for _ in range(12)]  # one per "gateway process"
    start = threading.Barrier(len(engines))
    results = []

    def claim(advocate_id: int, own: sqlalchemy.engine.Engine) -> None:
        start.wait()
        try:
            Cases(own).claim(code, advocate_id)
            results.append(("won", advocate_id))
        except AlreadyClaimed:
            results.append(("lost", advocate_id))

    threads = [threading.Thread(target=claim, args=(1000 + i, e)) for i, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for own in engines:
        own.dispose()
    winners = [a for outcome, a in results if outcome == "won"]
    assert len(results) == 12 and len(winners) == 1
    assert Cases(engine).get(code).advocate_id == winners[0]


def test_release_close_and_report(engine):
    cases = Cases(engine)
    record = cases.open("es", ["domestic_abuse"], "sms")
    cases.claim(record.code, 7)
    with pytest.raises(NotYours):
        cases.release(record.code, 8)
    assert cases.release(record.code, 7).advocate_id is None, "back in the queue"
    cases.claim(record.code, 8)
    cases.first_response(record.code, 95)
    cases.first_response(record.code, 400)  # only the first counts
    closed = cases.close(record.code, Outcome.REFERRED, 1200)
    assert (closed.seconds_to_first_response, closed.outcome) == (95, Outcome.REFERRED)
    with pytest.raises(UnknownCase):
        cases.claim(record.code, 9)
    with pytest.raises(UnknownCase):
        cases.close(record.code, Outcome.OTHER, 1)
    report = cases.report(since=dt.date.today())
    assert report.by_language_and_channel()[("es", "sms")][0] >= 1
    assert report.outcomes()["referred"] >= 1
    assert "median" in report.render()


def test_the_operator_commands_work_and_refuse_clearly(tmp_path):
    env = {**os.environ, "ASSISTANT_DATABASE_URL": f"sqlite:///{tmp_path / 'ops.db'}"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    added = run("advocates", "add", "--desk", "sms", "--address", "07700 900777", "--display", "Ana",
                "--languages", "es,pt")
    assert added.returncode == 0, added.stderr
    refused = run("advocates", "add", "--desk", "telegram", "--address", "@ana", "--display", "Ana",
                  "--languages", "es")
    assert refused.returncode == 2 and "numeric Telegram user id" in refused.stderr
    listed = run("advocates", "list")
    assert "Ana" in listed.stdout and "900777" not in listed.stdout and "…777" in listed.stdout
    report = run("cases", "report")
    assert report.returncode == 0 and "0 case(s)" in report.stdout


# ---- what an advocate's words mean --------------------------------------------------------------------------------
from bot.handoff.commands import Back, Close, Rename, Reply, Take, Unclear, parse_sms, parse_topic  # noqa: E402


@pytest.mark.parametrize("text, action", [
    ("TAKE 7F3K", Take("7F3K")),
    ("take 7f3k", Take("7F3K")),
    ("7F3K Hello, I am Ana from the service.", Reply("7F3K", "Hello, I am Ana from the service.")),
    ("7f3k  two\nlines", Reply("7F3K", "two\nlines")),
    ("CLOSE 7F3K referred", Close("7F3K", Outcome.REFERRED)),
    ("close 7F3K", Close("7F3K", Outcome.OTHER)),
    ("BACK 7F3K", Back("7F3K")),
    ("NAME 7F3K  Ana  (advocate)", Rename("7F3K", "Ana (advocate)")),
])
def test_sms_advocate_commands(text, action):
    assert parse_sms(text) == action


@pytest.mark.parametrize("text", ["", "hello", "TAKE", "TAKE 7F3", "7F3K", "CLOSE 7F3K happily", "NAME 7F3K",
                                  "TAKE 0O1I", "END 7F3K"])
def test_sms_advocate_words_that_are_not_a_command_deliver_nothing(text):
    assert isinstance(parse_sms(text), Unclear)


@pytest.mark.parametrize("text, action", [
    ("/take", Take("7F3K")), ("/take@assistant_bot", Take("7F3K")), ("/close advice", Close("7F3K", Outcome.ADVICE_GIVEN)),
    ("/back", Back("7F3K")), ("/name Ana", Rename("7F3K", "Ana")), ("Hola, soy Ana.", Reply("7F3K", "Hola, soy Ana.")),
])
def test_telegram_topic_commands(text, action):
    assert parse_topic(text, "7F3K") == action


def test_telegram_topic_unknown_commands_and_empty_messages_deliver_nothing():
    assert isinstance(parse_topic("/start", "7F3K"), Unclear) and isinstance(parse_topic("  ", "7F3K"), Unclear)


# ---- live state: ephemeral, expiring, nothing of hers but the pseudonym -------------------------------------------
@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_live_cases_are_kept_in_the_ephemeral_store_with_an_expiry(backend):
    import asyncio

    from bot.handoff.live import CONNECTED, Consent, LiveCases
    from bot.storage.ephemeral import MemoryEphemeral, RedisEphemeral

    async def scenario():
        if backend == "memory":
            store = MemoryEphemeral()
        else:
            import redis

            try:
                redis.Redis.from_url("redis://127.0.0.1:6379/13").ping()
            except redis.exceptions.ConnectionError:
                if os.environ.get("CI"):
                    raise
                pytest.skip("Redis is not running")
            store = RedisEphemeral("redis://127.0.0.1:6379/13")
        clock = [1000.0]
        live = LiveCases(store, ttl=120, clock=lambda: clock[0])
        await live.ask_consent("sms-abc", Consent("es", ["police_immigration"]))
        assert (await live.consent("sms-abc")).topics == ["police_immigration"]
        case = await live.open("7F3K", "sms-abc", "sms", "es")
        assert await live.consent("sms-abc") is None, "consent is used up"
        assert (await live.of("sms-abc")).code == "7F3K"
        clock[0] = 1060.0
        case = await live.touch(case, advocate=True, state=CONNECTED, advocate_id=3, display="Ana")
        assert (await live.get("7F3K")) == case and case.last_advocate == 1060.0 and case.last_her == 1000.0
        if backend == "redis":
            import redis

            raw = redis.Redis.from_url("redis://127.0.0.1:6379/13")
            keys = raw.keys("assistant:handoff:*")
            assert keys and all(0 < raw.ttl(k) <= 120 for k in keys), "every key expires"
        await live.end(case)
        assert await live.of("sms-abc") is None and await live.get("7F3K") is None
        await store.close()

    asyncio.run(scenario())


CLAIM_IN_A_PROCESS = """
import sys, time
import sqlalchemy
from bot.handoff.cases import Cases
from bot.handoff.model import AlreadyClaimed
url, code, advocate, at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
engine = sqlalchemy.create_engine(url, future=True)
engine.connect().close()  # connected before the start, so both reach the database at the same moment
while time.time() < at:
    pass
try:
    Cases(engine).claim(code, advocate)
    print("won")
except AlreadyClaimed:
    print("lost")
"""


@pytest.mark.parametrize("round_", range(5))
def test_two_processes_claiming_at_the_same_moment_give_the_case_to_one(url, engine, round_):
    """Two OS processes (as two gateway processes of the scaled profile would be), each with its own engine, claim
    the same case at one wall-clock instant: one wins, the other is told, the record names the winner."""
    code = Cases(engine).open("es", [], "sms").code
    at = __import__("time").time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", CLAIM_IN_A_PROCESS, url, code, str(2000 + i), str(at)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outcomes = [p.communicate(timeout=60) for p in procs]
    said = sorted(out.strip() for out, _ in outcomes)
    assert said == ["lost", "won"], outcomes
    winner = 2000 + [out.strip() for out, _ in outcomes].index("won")
    assert Cases(engine).get(code).advocate_id == winner
