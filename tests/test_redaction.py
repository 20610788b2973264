"""Redaction of identifying details before a message reaches Rasa (bot/privacy/redact.py).

One row per case: each kind, each language's name intros, each script of digits, and messages that must come through
untouched. Then the labelled set (bench/redaction/labelled.yml) against the targets in docs/redaction.md. All data is
fictitious (UK drama numbers, example.com, the QQ NI prefix, made-up names and streets).
"""
from __future__ import annotations

import shutil

import pytest
import yaml

from bench import redaction_bench as bench
from bot.privacy import redact as redact_module
from bot.privacy.redact import Redacted, RedactionConfigError, RedactionError, Redactor, Span
from conftest import ROOT

LOCALES = ROOT / "locales"


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor.load(LOCALES)


def supported() -> list:
    return yaml.safe_load((LOCALES / "languages.yml").read_text(encoding="utf-8"))["supported"]


# ---- each kind --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("call me on 07700 900123 pls", "call me on [phone] pls"),
    ("ring 07700900123", "ring [phone]"),
    ("+44 7700 900123", "[phone]"),
    ("+447700900123 after 6", "[phone] after 6"),
    ("0044 7700 900 123", "[phone]"),
    ("+44 (0)7700 900123", "[phone]"),
    ("(020) 7946 0123 is home", "[phone] is home"),
    ("020 7946 0123", "[phone]"),
    ("07700-900-123 or 07700.900.124", "[phone] or [phone]"),
    ("0 7 7 0 0 9 0 0 1 2 3", "[phone]"),
    ("+34 600 000 111", "[phone]"),
    ("+351 910 000 123", "[phone]"),
    ("+33 6 39 98 12 34", "[phone]"),
    ("06 39 98 12 34", "[phone]"),
    ("+48 500 000 123", "[phone]"),
    ("+40 700 000 123", "[phone]"),
    ("+92 300 0000123", "[phone]"),
    ("+880 1700 000123", "[phone]"),
    ("+212 600 000123", "[phone]"),
    ("+20 100 000 1234", "[phone]"),
    ("his code is 1234567", "his code is [phone]"),  # any 7 digits: the fallback
])
def test_phone_numbers_in_any_common_format(redactor, text, expected):
    result = redactor.redact(text)
    assert result.text == expected
    assert result.kinds == ("phone",)


@pytest.mark.parametrize("text, expected", [
    ("رقمي ٠٧٧٠٠ ٩٠٠١٢٣ شكرا", "رقمي [phone] شكرا"),  # Arabic-Indic
    ("میرا نمبر ۰۷۷۰۰۹۰۰۱۲۳ ہے", "میرا نمبر [phone] ہے"),  # Extended Arabic-Indic (Urdu)
    ("আমার নম্বর ০৭৭০০ ৯০০১২৩", "আমার নম্বর [phone]"),  # Bengali
    ("Tel ０７７００ ９００１２３", "Tel [phone]"),  # full-width
    ("+٤٤ ٧٧٠٠ ٩٠٠١٢٣", "[phone]"),
    ("\u200f٠٧٧٠٠\u200f٩٠٠١٢٣", "\u200f[phone]"),  # a direction mark inside the number
])
def test_digits_of_every_script_are_read_and_cut_from_the_original_text(redactor, text, expected):
    assert redactor.redact(text).text == expected


@pytest.mark.parametrize("text, expected, kind", [
    ("email me at amina.b@example.com thanks", "email me at [email] thanks", "email"),
    ("AMINA@EXAMPLE.ORG", "[email]", "email"),
    ("a.b+c@mail.example.co.uk.", "[email].", "email"),
    ("my postcode is E17 9ZZ", "my postcode is [postcode]", "postcode"),
    ("sw1a1aa", "[postcode]", "postcode"),
    ("m1 9zz near the park", "[postcode] near the park", "postcode"),
    ("NI QQ 12 34 56 C", "NI [ni]", "ni"),
    ("qq123456a", "[ni]", "ni"),
    ("NINO: QQ 12 34 56", "NINO: [ni]", "ni"),
    ("my ni is qq123456", "my ni is [ni]", "ni"),
    ("passport no 925076473 he has it", "passport no [passport] he has it", "passport"),
    ("mi pasaporte es PAA123456", "mi pasaporte es [passport]", "passport"),
    ("o numero do meu passaporte é CB123456", "o numero do meu passaporte é [passport]", "passport"),
    ("numéro de passeport 12AB34567", "numéro de passeport [passport]", "passport"),
    ("رقم جوازي ١٢٣٤٥٦٧٨٩", "رقم جوازي [passport]", "passport"),
    ("numer paszportu EA1234567", "numer paszportu [passport]", "passport"),
    ("pașaportul meu nr 051234567", "pașaportul meu nr [passport]", "passport"),
    ("پاسپورٹ نمبر AB1234567", "پاسپورٹ نمبر [passport]", "passport"),
    ("পাসপোর্ট নম্বর BX0123456", "পাসপোর্ট নম্বর [passport]", "passport"),
    ("brp ZU1234567", "brp [id]", "id"),
    ("my brp is RZ 1234567", "my brp is [id]", "id"),
    ("ref B1234567-0002 what is it", "ref [id] what is it", "id"),
    ("NIE X1234567L", "NIE [id]", "id"),
    ("i live at 14 Acacia Avenue, London", "i live at [address], London", "address"),
    ("flat 3, 12 Oak Road", "[address]", "address"),
    ("221B Baker Street", "[address]", "address"),
    ("62 west wallaby st", "[address]", "address"),
    ("4 Privet Drive", "[address]", "address"),
])
def test_each_kind_is_replaced_by_its_placeholder(redactor, text, expected, kind):
    result = redactor.redact(text)
    assert result.text == expected
    assert result.kinds == (kind,)


def test_a_number_after_a_passport_number_is_still_a_phone_number(redactor):
    result = redactor.redact("passport 925076473, call 07700 900123")
    assert result.text == "passport [passport], call [phone]"
    assert result.kinds == ("passport", "phone")


# ---- names, in every language -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    # en
    ("my name is Amina Begum, call me", "my name is [name], call me"),
    ("my name is amina i need help", "my name is [name] i need help"),
    ("hi my names jess", "hi my names [name]"),
    ("MY NAME IS GRACE OKAFOR PLEASE HELP", "MY NAME IS [name] PLEASE HELP"),
    ("my name's Precious and im scared", "my name's [name] and im scared"),
    ("Name: Joy Adebayo. born 1990", "Name: [name]. born 1990"),
    ("Name - Amina", "Name - [name]"),
    ("my name is Mary-Jane O'Connor", "my name is [name]"),
    ("My name is Amina Begum Pls help", "My name is [name] Pls help"),
    ("my husbands name is Omar Khan", "my husbands name is [name]"),
    # es
    ("hola me llamo Lucia Fernandez y necesito ayuda", "hola me llamo [name] y necesito ayuda"),
    ("me llamo maria jose tengo miedo", "me llamo [name] tengo miedo"),
    ("Mi nombre es Ana de la Cruz", "Mi nombre es [name]"),
    ("Me llamo Maria Jose Garcia Lopez, tengo 3 hijos", "Me llamo [name], tengo 3 hijos"),
    # pt
    ("meu nome e Ana Paula, moro em Londres", "meu nome e [name], moro em Londres"),
    ("me chamo juliana e preciso de ajuda", "me chamo [name] e preciso de ajuda"),
    ("Meu nome é Maria da Silva Santos", "Meu nome é [name]"),
    ("chamo-me Beatriz, sou de Portugal", "chamo-me [name], sou de Portugal"),
    # fr
    ("je m'appelle Aminata Diallo j'ai besoin d'aide", "je m'appelle [name] j'ai besoin d'aide"),
    ("je mappelle fatou et jai peur", "je mappelle [name] et jai peur"),
    ("Je m’appelle Marie-Claire, mon numéro", "Je m’appelle [name], mon numéro"),
    ("je m appelle Nadia", "je m appelle [name]"),
    ("Mon prénom c'est Khadija", "Mon prénom c'est [name]"),
    # ar
    ("اسمي فاطمة الزهراء وانا خايفة", "اسمي [name] وانا خايفة"),
    ("انا اسمي مريم، رقمي", "انا اسمي [name]، رقمي"),
    ("esmi Leila w 3andi 2 wlad", "esmi [name] w 3andi 2 wlad"),
    ("ana esmi salma, 5ayfa", "ana esmi [name], 5ayfa"),
    ("إسمي نور", "إسمي [name]"),
    # pl
    ("nazywam sie Anna Kowalska i potrzebuje pomocy", "nazywam sie [name] i potrzebuje pomocy"),
    ("Nazywam się Magdalena Nowak.", "Nazywam się [name]."),
    ("mam na imie kasia, boje sie", "mam na imie [name], boje sie"),
    ("Mam na imię Zofia", "Mam na imię [name]"),
    # ro
    ("buna ma numesc Ioana Popescu si am nevoie", "buna ma numesc [name] si am nevoie"),
    ("mă numesc Elena, sunt din Romania", "mă numesc [name], sunt din Romania"),
    ("numele meu e andreea, sotul ma bate", "numele meu e [name], sotul ma bate"),
    ("Numele meu este Gabriela Ionescu.", "Numele meu este [name]."),
    # ur
    ("میرا نام عائشہ خان ہے اور مجھے مدد چاہیے", "میرا نام [name] ہے اور مجھے مدد چاہیے"),
    ("mera naam ayesha hai mujhe madad chahiye", "mera naam [name] hai mujhe madad chahiye"),
    ("mera nam Sana Bibi hai", "mera nam [name] hai"),
    ("میرا نام ہے رضیہ", "میرا نام ہے [name]"),
    # bn
    ("আমার নাম রিনা বেগম। আমি খুব ভয় পাচ্ছি", "আমার নাম [name]। আমি খুব ভয় পাচ্ছি"),
    ("amar naam rina, amar shami", "amar naam [name], amar shami"),
    ("amar nam Shirin Akter ami help chai", "amar nam [name] ami help chai"),
    ("আমার নামঃ সুমি", "আমার নামঃ [name]"),
    ("amar naam holo Ruma Khatun", "amar naam holo [name]"),
    # an intro of one language in a message of another (the language is not known yet)
    ("hi my name is Rania ana min Syria", "hi my name is [name] ana min Syria"),
])
def test_self_introduced_names_in_every_language(redactor, text, expected):
    result = redactor.redact(text)
    assert result.text == expected
    assert result.kinds == ("name",)


@pytest.mark.parametrize("lang", supported())
def test_every_language_has_intros_that_work(redactor, lang):
    """The first intro of each language's data, followed by a made-up name, is redacted."""
    data = yaml.safe_load((LOCALES / lang / "_redaction.yml").read_text(encoding="utf-8"))
    intro = data["name_intros"][0]
    assert redactor.redact(f"{intro} Zorinda").text == f"{intro} [name]"


# ---- what must survive ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "3", "11", "999", "he is hitting me now 999", "i pressed 55", "ring 101 or 111", "samaritans 116 123",
    "is 0808 2000 247 free?", "is +44 808 2000 247 the refuge number", "call 0800 555 111", "٠٨٠٨ ٢٠٠٠ ٢٤٧",
    "i am 34 and have 2 kids age 5 and 7", "been in uk since 2019", "between 2019-2021 he hurt me",
    "he took £1,500 on 12/03/2024 at 10:30", "I arrived 12.03.2019", "on 2019-03-12", "€1.500,00", "£1 200 000",
    "I'm scared", "soy de Brasil", "my husband is British", "I am in London", "we live in E17",
    "my name is not important", "my name is on the tenancy with his", "can i change my name?", "my name",
    "me llamo la policia ayer", "I am Muslim and my husband is Hindu", "see u b4 2nd appointment",
    "i walked 2 hours down the road", "3 days on the hill", "2 kids close to me", "the case number is 12345",
    "meet at 9am or 3pm", "at 10 20 30", "he has my passport and my brp", "زوجي اخذ جواز السفر مني", "عمري ٢٨ سنة",
    "meri umar 29 saal hai", "আমার বয়স ৩০", "amar shami British, ami bhoy pai", "dfa3li 200 pound? 3andi 3 wlad",
    "", "   ",
])
def test_what_is_not_identifying_comes_through_untouched(redactor, text):
    result = redactor.redact(text)
    assert result.text == text
    assert result.kinds == ()


def test_every_helpline_number_in_the_content_survives(redactor):
    numbers = yaml.safe_load((LOCALES / "numbers.yml").read_text(encoding="utf-8"))["numbers"]
    assert len(numbers) > 5
    for number in numbers:
        text = f"is {number} free to call?"
        assert redactor.redact(text).text == text, number


# ---- the result -------------------------------------------------------------------------------------------------
def test_kinds_are_listed_once_in_order_of_appearance_and_never_the_values(redactor):
    result = redactor.redact("my name is Amina, 07700 900123, amina@example.com, or 07700 900124")
    assert result.text == "my name is [name], [phone], [email], or [phone]"
    assert result.kinds == ("name", "phone", "email")
    for shown in (repr(result), str(result)):
        assert "Amina" not in shown and "0770" not in shown and "example" not in shown and "[" not in shown


def test_redacted_repr_shows_only_the_kinds():
    assert repr(Redacted("my name is [name]", ("name",))) == "Redacted(kinds=('name',))"


def test_redacting_twice_changes_nothing_more(redactor):
    once = redactor.redact("my name is Amina, call 07700 900123, E17 9ZZ, QQ123456C").text
    assert redactor.redact(once).text == once


def test_overlapping_finds_become_one_span(redactor):
    spans = redactor.find("brp ZU1234567")
    assert spans == (Span(4, 13, "id"),)  # the digit-run fallback found 1234567 too: one span, the id wins


def test_a_detector_failure_never_carries_the_text(redactor, monkeypatch):
    secret = "my name is Zorinda 07700 900999"

    def broken(copy):
        raise ValueError(copy)

    monkeypatch.setattr(redactor, "_names", broken)
    with pytest.raises(RedactionError) as caught:
        redactor.redact(secret)
    assert "Zorinda" not in str(caught.value) and caught.value.__suppress_context__


def test_spacy_vocabulary_does_not_keep_the_words_of_past_messages(monkeypatch):
    redactor = Redactor.load(LOCALES)
    monkeypatch.setattr(redact_module, "VOCAB_LIMIT", 200)
    redactor.redact("my name is Zorindabelle")
    for i in range(300):
        redactor.redact(f"word{i}x another{i}y")
    strings = redactor._nlp.vocab.strings
    assert "Zorindabelle" not in strings
    assert len(strings) < redactor._vocab_base + 400


def test_a_message_is_redacted_in_a_few_milliseconds(redactor):
    messages = bench.load_labelled()
    results = bench.evaluate(redactor, messages, repeat=3)
    mean = sum(r.ms for r in results) / len(results)
    assert mean < 5.0, f"{mean:.2f} ms per message"


# ---- data files -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", supported())
def test_each_language_has_redaction_data_with_a_header_and_no_review_fields(lang):
    path = LOCALES / lang / "_redaction.yml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), "a comment header says what the file is for"
    data = yaml.safe_load(text)
    assert data["language"] == lang and data["name_intros"] and data["name_ends"]
    assert not {"status", "reviewed_on", "review_due"} & set(data)


def test_a_new_language_needs_only_its_redaction_file(tmp_path):
    shutil.copy(LOCALES / "languages.yml", tmp_path / "languages.yml")
    config = yaml.safe_load((tmp_path / "languages.yml").read_text(encoding="utf-8"))
    config["supported"] = ["en", "de"]
    (tmp_path / "languages.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (tmp_path / "en").mkdir()
    shutil.copy(LOCALES / "en" / "_redaction.yml", tmp_path / "en" / "_redaction.yml")
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "_redaction.yml").write_text(
        "# German redaction data\nlanguage: de\nname_intros: [ich heiße, mein name ist]\nname_ends: [und, ich]\n",
        encoding="utf-8")
    redactor = Redactor.load(tmp_path)
    assert redactor.redact("ich heisse Anna Schmidt und ich habe Angst").text == "ich heisse [name] und ich habe Angst"
    assert redactor.redact("Mein Name ist Greta").text == "Mein Name ist [name]"


@pytest.mark.parametrize("content, complaint", [
    ("language: xx\nname_intros: [hello]\n", "says language"),
    ("language: de\nname_intros: []\n", "at least one phrase"),
    ("language: de\nname_intros: [ich heiße]\nname_ends: [und, no]\n", "list of strings"),
    ("- just a list\n", "mapping"),
])
def test_a_malformed_redaction_file_is_named(tmp_path, content, complaint):
    (tmp_path / "languages.yml").write_text("default: de\nsupported: [de]\n", encoding="utf-8")
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "_redaction.yml").write_text(content, encoding="utf-8")
    with pytest.raises(RedactionConfigError, match=complaint) as caught:
        Redactor.load(tmp_path)
    assert "_redaction.yml" in str(caught.value)


def test_a_missing_redaction_file_is_named(tmp_path):
    (tmp_path / "languages.yml").write_text("default: de\nsupported: [de]\n", encoding="utf-8")
    with pytest.raises(RedactionConfigError, match=r"de/_redaction.yml is missing"):
        Redactor.load(tmp_path)


# ---- the labelled set -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def labelled_results(redactor):
    return bench.evaluate(redactor, bench.load_labelled(), repeat=0)


def test_the_labelled_set_covers_every_language():
    messages = bench.load_labelled()
    assert len(messages) >= 120
    for lang in supported():
        mine = [m for m in messages if m.lang == lang]
        assert len(mine) >= 10, lang
        assert any(m.identifying for m in mine) and any(not m.identifying for m in mine), lang


@pytest.mark.parametrize("kind", bench.STRICT_KINDS)
def test_labelled_set_recall_is_complete_for_numbers_and_codes(labelled_results, kind):
    figures = bench.figures(labelled_results, kind)
    assert figures.spans >= 3, f"too few labelled {kind} spans to measure"
    assert figures.recall == 1.0, [r.message.text for r in labelled_results if (kind, False) in r.found]


def test_labelled_set_recall_on_names_is_at_least_95_percent(labelled_results):
    figures = bench.figures(labelled_results, "name")
    assert figures.spans >= 40
    assert figures.recall >= 0.95


def test_labelled_set_over_redaction_is_at_most_2_percent_of_characters(labelled_results):
    assert bench.figures(labelled_results).over_rate <= 0.02


class _Removes:
    """A stand-in redactor for checking the scoring itself: removes nothing, or everything."""

    def __init__(self, everything: bool) -> None:
        self.everything = everything

    def redact(self, text: str) -> Redacted:
        return Redacted(text)

    def find(self, text: str):
        return (Span(0, len(text), "name"),) if self.everything and text else ()


def test_the_scoring_can_fail_both_ways():
    messages = bench.load_labelled()
    nothing = bench.evaluate(_Removes(False), messages, repeat=0)
    everything = bench.evaluate(_Removes(True), messages, repeat=0)
    assert bench.figures(nothing).recall == 0.0 and bench.figures(nothing).over_rate == 0.0
    assert bench.figures(everything).recall == 1.0 and bench.figures(everything).over_rate == 1.0
    assert not bench.targets_met(nothing) and not bench.targets_met(everything)


def test_a_partly_removed_span_is_a_miss():
    message = bench.Labelled("en", "my name is Amina Begum", (("name", 11, 22),))
    assert bench.score(message, [Span(11, 16, "name")]).found == (("name", False),)
    assert bench.score(message, [Span(11, 22, "name")]).found == (("name", True),)
    assert bench.score(message, [Span(3, 22, "name")]).over_chars == 8


# ---- the second set: details written around the usual forms (issue 8, finding 7) -----------------------------------
@pytest.fixture(scope="module")
def adversarial_results(redactor):
    return bench.evaluate(redactor, bench.load_labelled(bench.ADVERSARIAL), repeat=0)


ATTACK_CATEGORIES = ("phone_words", "email_spaced", "self_intro", "handle", "dob")


def test_the_second_set_covers_every_category_in_every_language():
    messages = bench.load_labelled(bench.ADVERSARIAL)
    for lang in supported():
        for category in ATTACK_CATEGORIES + ("negative",):
            assert sum(m.lang == lang and m.category == category for m in messages) >= 5, (lang, category)


@pytest.mark.parametrize("category", ATTACK_CATEGORIES)
def test_details_written_around_the_usual_forms_are_removed(adversarial_results, category):
    """Before issue 8 these reached Rasa: 18% of the spans were removed; now each category is at least 75%."""
    results = [r for r in adversarial_results if r.message.category == category]
    recall = bench.figures(results).recall
    assert recall >= 0.75, [r.message.text for r in results if any(not ok for _, ok in r.found)]


def test_the_second_sets_ordinary_look_alikes_come_through(adversarial_results):
    negatives = [r for r in adversarial_results if r.message.category == "negative"]
    assert len(negatives) >= 45
    assert sum(1 for r in negatives if r.over_chars) <= 2, [r.message.text for r in negatives if r.over_chars]


def test_ordinary_messages_are_not_taken_for_identifying_details(redactor):
    """The weak intros ("soy", "আমি", "my husband") must not eat ordinary words: over the 1,294 messages of the NLU
    evaluation sets, which hold no identifying detail, at most 5 are changed (2 when this was written)."""
    ordinary = bench.ordinary_messages()
    assert len(ordinary) > 1000
    assert len(bench.changed(redactor, ordinary)) <= 5


def test_no_emergency_message_is_changed_by_redaction(redactor):
    """A danger message must reach the assistant whole: a weak intro taking "maarega" or "মরবো" for a name would hide
    the emergency from its classifiers. Every emergency message of the NLU evaluation sets, and the detector-only
    danger messages, come through untouched."""
    import yaml

    from bot.settings import ROOT

    emergencies = []
    for folder in ("heldout", "unseen"):
        for path in sorted((ROOT / "bench" / folder).glob("*.yml")):
            emergencies += [row["text"] for row in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
                            if row.get("topic") == "emergency"]
    from tests.test_pipeline import DETECTOR_ONLY

    emergencies += [text for _, text in DETECTOR_ONLY] + ["আমি মরবো", "woh mujhe maarega", "ana hamoot", "soy muerta"]
    assert len(emergencies) > 100
    assert [t for t in emergencies if redactor.find(t)] == []
