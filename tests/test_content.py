"""The content in locales/ loads and passes the check; the check catches each kind of fault, naming file and topic."""
import datetime as dt
import shutil
import subprocess
import sys

import pytest
import yaml

from bot.content.check import check
from bot.content.model import TOPICS, ReviewStatus
from bot.content.sms import cost
from bot.content.store import SMS, TELEGRAM, ContentError, ContentStore
from conftest import ROOT


def test_every_topic_has_an_entry_in_every_language(store):
    for code in store.languages.codes:
        for topic in TOPICS:
            assert store.entry(code, topic) is not None, f"{code}/{topic}"


def test_real_content_passes_the_check(store):
    report = check(store)
    assert report.errors == []


def test_no_entry_claims_to_be_vetted(store):
    # nothing has been signed off by a reviewing role yet: an entry marked vetted would be a false claim
    assert not [e.path for e in store.entries.values() if e.status is ReviewStatus.VETTED]
    assert all(e.status is ReviewStatus.DRAFT for (code, _), e in store.entries.items() if code == "en")
    assert all(e.status is ReviewStatus.UNREVIEWED_TRANSLATION
               for (code, _), e in store.entries.items() if code != "en")


def test_cli_content_check_passes():
    result = subprocess.run([sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s)" in result.stdout


def test_emergency_answer_starts_with_999_in_every_language(store):
    for code in store.languages.codes:
        entry = store.entry(code, "emergency")
        first_line = entry.sms.splitlines()[0]
        assert "999" in first_line[:40], f"{code}: {first_line}"
        assert "55" in entry.sms and "0808 2000 247" in entry.sms.replace("\u200e", ""), code


def test_police_answer_never_promises_protection(store):
    en = store.entry("en", "police_immigration")
    text = f"{en.sms} {en.full} {en.more}".lower()
    assert "can share" in text and "no law stops them" in text
    for promise in ("will not tell", "won't tell", "firewall protects", "protocol protects", "you are protected"):
        assert promise not in text


def test_unreviewed_translation_carries_the_note_and_fits(store):
    [reply] = store.render("police_immigration", "ar", SMS, serve_drafts=True)
    note = store.ui["ar"].get("unreviewed_note")
    assert reply.text.endswith(note)
    assert reply.status == "unreviewed-translation"
    assert cost(reply.text).segments <= 3


def test_english_draft_has_no_translation_note(store):
    [reply] = store.render("police_immigration", "en", SMS, serve_drafts=True)
    assert store.ui["en"].get("unreviewed_note") not in reply.text
    assert reply.status == "draft" and reply.content_id.startswith("en/police_immigration@")


def test_production_serves_only_vetted_entries(store):
    [reply] = store.render("police_immigration", "es", SMS, serve_drafts=False)
    assert reply.status == "withheld"
    assert reply.text == store.ui["es"].get("unavailable")
    assert "999" in reply.text


def test_production_check_requires_vetted_service_strings(store):
    report = check(store, production=True)
    assert any("_ui.yml" in e and "production" in e for e in report.errors)
    assert any("[en/emergency]" in e for e in report.errors)


def test_greeting_and_fallback_are_followed_by_the_menu_as_a_second_message(store):
    for topic in ("greet", "fallback"):
        replies = store.render(topic, "ur", SMS, serve_drafts=True)
        assert [r.topic for r in replies] == [topic, "menu"]
        assert all(cost(r.text).segments <= 3 for r in replies)


def test_telegram_gets_the_full_form(store):
    [reply] = store.render("trafficking", "en", TELEGRAM, serve_drafts=True)
    assert reply.text == store.entry("en", "trafficking").full


def test_language_menu_names_each_language_in_itself(store):
    menu = store.language_menu().text.splitlines()
    assert menu[0] == "1 English" and "2 Español" in menu and "9 বাংলা" in menu
    assert cost(store.language_menu().text).segments <= 2


# ---- the check catches faults, naming the file and topic --------------------------------------------------------

@pytest.fixture
def locales_copy(tmp_path):
    target = tmp_path / "locales"
    shutil.copytree(ROOT / "locales", target)
    return target


def _edit(path, **changes):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _errors(locales):
    return check(ContentStore.load(locales, strict=False)).errors


def test_check_reports_a_missing_entry(locales_copy):
    (locales_copy / "pl" / "healthcare.yml").unlink()
    assert any("pl/healthcare.yml" in e and "missing" in e for e in _errors(locales_copy))
    with pytest.raises(ContentError, match="pl/healthcare.yml"):
        ContentStore.load(locales_copy)


def test_check_reports_an_sms_over_budget(locales_copy):
    _edit(locales_copy / "bn" / "privacy.yml", sms="আ" * 190)  # + note: over 201 UCS-2 units
    assert any("[bn/privacy]" in e and "sms + more_hint is 4 SMS segments" in e for e in _errors(locales_copy))


def test_check_measures_the_sms_as_sent_with_the_neutral_line(locales_copy):
    # fits 3 segments on its own (201 units with the note and hint), not with the neutral first line before it
    ui = yaml.safe_load((locales_copy / "bn" / "_ui.yml").read_text(encoding="utf-8"))["strings"]
    spare = 201 - len(ui["unreviewed_note"]) - len(ui["more_hint"]) - 2
    _edit(locales_copy / "bn" / "privacy.yml", sms="আ" * spare)
    assert cost("আ" * spare + "\n" + ui["more_hint"] + "\n" + ui["unreviewed_note"]).segments == 3
    assert any("[bn/privacy]" in e and "with the neutral line" in e for e in _errors(locales_copy))


def test_check_reports_a_forbidden_promise(locales_copy):
    _edit(locales_copy / "en" / "police_immigration.yml",
          sms="The police will not check your status. In danger: 999.")
    assert any("[en/police_immigration]" in e and "police will not check your status" in e
               for e in _errors(locales_copy))


def test_check_reports_an_emergency_answer_whose_999_is_not_first(locales_copy):
    _edit(locales_copy / "fr" / "emergency.yml", plain="Vous etes en danger. Ne restez pas seule. Appelez le 999.")
    assert any("[fr/emergency]" in e and "999 in its first 40" in e for e in _errors(locales_copy))
    data = yaml.safe_load((locales_copy / "es" / "_ui.yml").read_text(encoding="utf-8"))
    data["strings"]["rate_limited"] = "Estas enviando muchos mensajes, espera un minuto. Si estas en peligro: 999."
    (locales_copy / "es" / "_ui.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert any("es/_ui.yml" in e and "'rate_limited' must have 999" in e for e in _errors(locales_copy))


def test_check_reports_right_to_left_text_that_would_display_reversed(locales_copy):
    _edit(locales_copy / "ar" / "helplines.yml", sms="اتصلي بالرقم 0808 2000 247 أو اسألي (Home Office).")
    errors = [e for e in _errors(locales_copy) if "[ar/helplines]" in e]
    assert any("'0808 2000 247' needs U+200E" in e for e in errors)
    assert any("brackets around 'Home Office'" in e for e in errors)
    _edit(locales_copy / "ar" / "helplines.yml", sms="اتصلي بالرقم \u200e0808 2000 247 أو اسألي Home Office.")
    assert not [e for e in _errors(locales_copy) if "[ar/helplines]" in e and ("U+200E" in e or "brackets" in e)]


def test_check_reports_a_telegram_form_without_its_accents(locales_copy):
    _edit(locales_copy / "es" / "helplines.yml", full="Llama a la policia o a la linea de ayuda: 999.")
    assert any("[es/helplines]" in e and "'policia' without its accents" in e for e in _errors(locales_copy))


def test_check_requires_the_plain_form(locales_copy):
    _edit(locales_copy / "pt" / "trafficking.yml", plain=None)
    assert any("[pt/trafficking]" in e and "missing required field: plain" in e for e in _errors(locales_copy))


def test_check_reports_an_entry_without_sources(locales_copy):
    _edit(locales_copy / "fr" / "helplines.yml", sources=[])
    assert any("[fr/helplines]" in e and "no sources" in e for e in _errors(locales_copy))


def test_check_reports_an_unchecked_phone_number(locales_copy):
    _edit(locales_copy / "en" / "helplines.yml", sms="Call 0800 123 4567 now.")
    assert any("[en/helplines]" in e and "08001234567" in e for e in _errors(locales_copy))


def test_check_reports_a_number_in_another_script(locales_copy):
    _edit(locales_copy / "bn" / "helplines.yml", sms="০৮০৮ ২০০০ ২৪৭")
    assert any("[bn/helplines]" in e and "phone number" in e for e in _errors(locales_copy))


def test_years_and_menu_numbers_are_not_phone_numbers(locales_copy):
    _edit(locales_copy / "en" / "helplines.yml", sms="Since 2021, for 12 weeks. Reply 11. Call 999, press 55.")
    assert not [e for e in _errors(locales_copy) if "[en/helplines]" in e]


def test_check_reports_a_missing_field(locales_copy):
    _edit(locales_copy / "ro" / "trafficking.yml", review_due=None)
    assert any("ro/trafficking.yml" in e and "review_due" in e for e in _errors(locales_copy))


def test_check_reports_vetted_without_a_reviewer(locales_copy):
    _edit(locales_copy / "en" / "thanks.yml", status="vetted")
    assert any("[en/thanks]" in e and "reviewed_by" in e for e in _errors(locales_copy))


def test_check_reports_a_menu_that_lost_a_number(locales_copy):
    _edit(locales_copy / "es" / "menu.yml", sms="1 Policia\n2 Denunciar")
    assert any("[es/menu]" in e and "starting with 3" in e for e in _errors(locales_copy))


def test_check_warns_past_review_due(locales_copy):
    store = ContentStore.load(locales_copy, strict=False)
    report = check(store, today=dt.date(2030, 1, 1))
    assert report.ok
    assert any("past review_due" in w for w in report.warnings)


def test_check_warns_when_the_english_source_changed(locales_copy):
    _edit(locales_copy / "en" / "privacy.yml", sms="A changed English text.")
    report = check(ContentStore.load(locales_copy, strict=False))
    assert any("[es/privacy]" in w and "source changed" in w for w in report.warnings)


def test_cli_check_fails_naming_the_file(locales_copy):
    _edit(locales_copy / "pt" / "menu.yml", sources=[])
    result = subprocess.run([sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**__import__("os").environ,
                                                        "ASSISTANT_LOCALES_DIR": str(locales_copy)})
    assert result.returncode == 1
    assert "pt/menu.yml [pt/menu]: no sources" in result.stdout


# ---- what every language must hold (issue 7) ------------------------------------------------------------------------

def test_every_language_lists_the_promises_it_may_not_make(store):
    from bot.content.check import REQUIRED_PROMISE_CATEGORIES
    from bot.content.promises import load_promises

    for code in store.languages.codes:
        promises = load_promises(store.locales_dir, code)
        for category in REQUIRED_PROMISE_CATEGORIES:
            assert len(promises.forbidden.get(category, ())) >= 3, f"{code}: {category}"


def test_no_entry_in_any_language_makes_a_forbidden_promise(store):
    from bot.content.promises import load_promises

    for code in store.languages.codes:
        promises = load_promises(store.locales_dir, code)
        texts = [(f"{e.topic}.{form}", e.form(form) or "") for (lang, _), e in store.entries.items() if lang == code
                 for form in ("sms", "more", "plain", "full")]
        texts += [(f"_ui.{key}", str(value)) for key, value in store.ui[code].strings.items()]
        broken = [(where, promises.broken_by(text)) for where, text in texts if promises.broken_by(text)]
        assert broken == [], code


def test_every_sms_answer_goes_as_one_message_with_the_neutral_line(store):
    # the reason: an answer split in two arrives out of order or half-read; Arabic, Urdu and Bengali went as two
    from bot.channels.sms_format import sms_bodies
    from bot.content.model import URGENT_TOPICS

    for (code, topic), entry in store.entries.items():
        neutral = "" if topic in URGENT_TOPICS else store.ui[code].get("neutral_line")
        for what, text in store.sms_texts(entry):
            bodies = sms_bodies(text, neutral)
            assert len(bodies) == 1, f"{code}/{topic} {what}: {len(bodies)} messages"


@pytest.mark.parametrize("key", ["degraded", "rate_limited"])
def test_urgent_service_strings_put_999_first_in_every_language(store, key):
    for code in store.languages.codes:
        assert "999" in store.ui[code].get(key)[:40], f"{code}: {key}"


def test_every_emergency_form_puts_999_first_in_every_language(store):
    for code in store.languages.codes:
        entry = store.entry(code, "emergency")
        for form in ("sms", "more", "plain", "full"):
            assert "999" in (entry.form(form) or "").replace("*", "")[:40], f"{code}: {form}"


def test_option_11_is_described_as_what_it_is(store):
    # until a person of the service can be reached, 11 gives helplines, and the text says so
    menu = store.menu
    assert menu[11] == "talk_to_person"
    person = store.entry("en", "talk_to_person")
    assert "cannot connect you to a person" in person.sms and "cannot connect you to a person" in person.full
    import re

    for (code, topic), entry in store.entries.items():
        if code != "en":
            continue
        for form in ("sms", "more", "plain", "full"):
            for match in re.finditer(r"(?i)reply[^.]{0,80}?\b11\b([^.]*)", entry.form(form) or ""):
                assert "helpline" in match.group(0).lower(), f"{topic}.{form}: {match.group(0)}"


def test_the_plain_form_is_shorter_than_the_answer_in_every_language(store):
    from bot.content.model import NO_MORE_FORM, RIGHTS_TOPICS

    for (code, topic), entry in store.entries.items():
        if topic in RIGHTS_TOPICS and topic not in NO_MORE_FORM:
            assert len(entry.plain) < len(entry.full), f"{code}/{topic}"
            assert len(entry.plain) <= len(entry.sms) * 1.25, f"{code}/{topic}"


def test_answers_that_mention_the_3_months_say_what_comes_next_depends_on_the_visa(store):
    for topic in ("domestic_abuse_visa", "no_recourse_funds"):
        entry = store.entry("en", topic)
        for form in ("sms", "more", "plain", "full"):
            text = entry.form(form) or ""
            if "3 months" in text:
                assert "depends on your visa" in text and "advice" in text, f"{topic}.{form}"


def test_rape_crisis_and_victim_support_are_said_to_be_england_and_wales_only(store):
    for topic in ("helplines", "talk_to_person", "sexual_violence"):
        entry = store.entry("en", topic)
        for form in ("sms", "full"):
            text = entry.form(form) or ""
            for service in ("Rape Crisis", "Victim Support"):
                if service in text:
                    at = text.index(service)
                    assert "England and Wales" in text[max(0, at - 90): at + 120], f"{topic}.{form} {service}"


def test_the_review_summary_says_plainly_what_is_served(store):
    summary = store.review_summary(serve_drafts=True)
    assert summary.startswith("0 of ") and "Drafts not yet reviewed: en." in summary
    assert "Translations not checked by a person: ar, bn, es, fr, pl, pt, ro, ur." in summary
    assert "do not use them as checked advice" in summary
