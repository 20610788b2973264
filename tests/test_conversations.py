"""Whole conversations through the real path: Rasa server (trained model, our NLU components), dialogue policy,
action server and locales/. Several languages; language switching; menu numbers; emergency first; fallback;
follow-ups; forget-me; hostile input."""
import pytest

from bot.content.sms import cost

EMERGENCIES = {
    "en": "he is hitting me right now please help",
    "es": "ayuda mi marido me esta pegando ahora mismo",
    "pt": "socorro ele esta me batendo agora",
    "fr": "au secours il me frappe en ce moment",
    "ar": "زوجي يضربني الآن ساعدوني",
    "pl": "pomocy on mnie teraz bije",
    "ro": "ajutor ma bate acum",
    "ur": "mera shohar abhi mujhe maar raha hai madad karo",
    "bn": "আমার স্বামী এখন আমাকে মারছে বাঁচাও",
}


@pytest.mark.parametrize("language, text", sorted(EMERGENCIES.items()))
def test_emergency_is_answered_first_in_every_language(conversation, store, language, text):
    [reply] = conversation().say(text)
    assert reply.meta["topic"] == "emergency"
    assert reply.meta["language"] == language
    assert reply.text.splitlines()[0] == store.entry(language, "emergency").sms.splitlines()[0]
    assert "999" in reply.text.splitlines()[0]


def test_emergency_outranks_the_language_menu_and_other_topics(conversation):
    c = conversation()
    assert c.topic("привет") == "change_language"             # unknown language: the language menu is open
    assert c.topic("he has a knife and says he will kill me tonight, will police tell home office") == "emergency"


def test_police_question_then_follow_up_in_english(conversation, store):
    c = conversation()
    [reply] = c.say("if i call the police will they tell the home office i have no visa")
    assert (reply.meta["topic"], reply.meta["language"]) == ("police_immigration", "en")
    assert reply.text == store.served(store.entry("en", "police_immigration"), "sms", "more_hint")
    [more] = c.say("tell me more")
    assert more.meta["topic"] == "police_immigration" and more.meta["follow_up"] is True
    assert more.text == store.entry("en", "police_immigration").more


def test_children_follow_up_stays_on_the_topic(conversation, store):
    c = conversation()
    assert c.topic("the refuge said no because i have no recourse to public funds") == "no_recourse_funds"
    [reply] = c.say("and what about my children?")
    assert reply.meta["topic"] == "no_recourse_funds" and reply.meta["follow_up"] is True


def test_short_messages_keep_the_language_and_a_long_one_switches_it(conversation):
    c = conversation()
    assert c.say("hola, si denuncio a mi marido me pueden deportar?")[0].meta["language"] == "es"
    assert c.say("ok")[0].meta["language"] == "es"
    assert c.say("thanks")[0].meta["language"] == "es"
    reply = c.say("actually can you tell me if the police will tell the home office about me")[0]
    assert reply.meta["language"] == "en"


def test_language_menu_then_topic_menu_by_numbers(conversation, store):
    c = conversation()
    [menu] = c.say("привет")                                  # a language we do not speak: the language list
    assert menu.text == store.languages.menu_text()
    greeting = c.say("3")                                       # 3 = Português
    assert [r.meta["topic"] for r in greeting] == ["greet", "menu"]
    assert all(r.meta["language"] == "pt" for r in greeting)
    [answer] = c.say("1")                                       # 1 = police and the Home Office
    assert (answer.meta["topic"], answer.meta["language"]) == ("police_immigration", "pt")
    assert c.topic("11") == "talk_to_person"


def test_naming_a_language_switches_to_it(conversation):
    c = conversation()
    assert c.say("will the police check my visa if i report my husband")[0].meta["language"] == "en"
    replies = c.say("polski")
    assert replies[0].meta["topic"] == "greet" and replies[0].meta["language"] == "pl"
    assert c.say("1")[0].meta["language"] == "pl"


@pytest.mark.parametrize("first, ask, number, language", [
    ("can i see a doctor without papers", "change language", "9", "bn"),
    ("hi", "0", "4", "fr"),  # "Other language? Reply 0." under an answer in a guessed language
])
def test_asking_for_another_language_opens_the_language_list(conversation, store, first, ask, number, language):
    c = conversation()
    c.say(first)
    replies = c.say(ask)
    assert replies[-1].text == store.languages.menu_text()
    assert c.say(number)[0].meta["language"] == language


def test_off_topic_gets_not_sure_the_menu_and_a_person(conversation, store):
    c = conversation()
    replies = c.say("what's the weather like in london tomorrow")
    assert [r.meta["topic"] for r in replies] == ["fallback", "menu"]
    assert replies[0].text == store.entry("en", "fallback").sms
    assert c.topic("yes") == "talk_to_person"


def test_forget_me_wipes_the_conversation(conversation):
    c = conversation()
    assert c.say("czy policja powie home office jesli zglosze przemoc")[0].meta["language"] == "pl"
    [reply] = c.say("zapomnij mnie, usun wszystko")
    assert reply.meta["topic"] == "forget_me" and reply.meta["language"] == "pl"
    # the language was forgotten too: a bare number is answered in the default language, not in Polish
    assert c.say("1")[0].meta["language"] == "en"


@pytest.mark.parametrize("text", [
    "",
    "a" * 10_240,
    "police " * 1500,
    "\x00\x01\x02\x7f\ufffd\x1b[31m",
    "😀😭🙏💔",
    "help پولیس পুলিশ policía полиция 警察",
    "<script>alert(1)</script>",
])
def test_hostile_or_odd_input_gets_a_sensible_reply(conversation, text):
    replies = conversation().say(text)
    assert replies[0].meta["topic"] in {"fallback", "change_language", "menu", "greet", "police_immigration",
                                        "emergency", "helplines"}
    assert all(r.text.strip() for r in replies)


def test_sms_replies_fit_three_segments(conversation):
    c = conversation()
    for text in ("hola", "2", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"):
        for reply in c.say(text):
            assert cost(reply.text).segments <= 3, (reply.meta["content_id"], cost(reply.text))


def test_telegram_gets_the_full_form_and_its_language_hint(conversation, store):
    c = conversation(channel="telegram", language_hint="fr")
    replies = c.say("ok")                                       # unsure detection: the client's language decides
    assert replies[0].meta["language"] == "fr"
    [answer] = c.say("est-ce que je peux voir un medecin sans papiers")
    assert answer.text.startswith(store.entry("fr", "healthcare").full)


def test_each_message_runs_the_action_once(conversation, service_logs):
    # a slot mapping that names action_answer would make Rasa's action_extract_slots call it on every message too
    log = service_logs / "actions.log"
    c = conversation()
    c.say("hola")
    before = log.read_text().count("answered topic=")
    c.say("1")
    assert log.read_text().count("answered topic=") - before == 1


# ---- what women really write first (issue 7) ----------------------------------------------------------------------
@pytest.mark.parametrize("text, topic", [
    ("my husband hits me", "domestic_abuse"),
    ("my husband beats me", "domestic_abuse"),
    ("im scared of my husband", "domestic_abuse"),
    ("he took my passport", "domestic_abuse"),
    ("i dont have papers", "status_worry"),
    ("my visa expired", "status_worry"),
    ("i am illegal", "status_worry"),
    ("is this free", "about_service"),
    ("are you a robot", "about_service"),
    ("who reads this", "about_service"),
])
def test_common_first_messages_get_their_own_answer_not_im_not_sure(conversation, store, text, topic):
    replies = conversation().say(text)
    assert replies[0].meta["topic"] == topic and replies[0].meta["language"] == "en"
    assert store.entry("en", "fallback").sms not in replies[0].text


def test_a_disclosure_is_answered_as_one(conversation, store):
    [reply] = conversation().say("my husband hits me")
    for must in ("not your fault", "999", "0808 2000 247", "Reply 3", "11"):
        assert must in reply.text


@pytest.mark.parametrize("text, guessed", [("hi", True), ("ok", True), ("help me", True), ("i am scared", False)])
def test_a_short_first_message_is_answered_in_english(conversation, store, text, guessed):
    # "hi", "ok", "help me" are written in every language: English is a guess, and the answer says how to change it;
    # "scared" is a word only the English examples use: no line
    replies = conversation().say(text)
    assert {r.meta["language"] for r in replies} <= {"en"}, [r.meta for r in replies]
    assert any(store.ui["en"].get("language_line") in r.text for r in replies) is guessed


def test_standard_arabic_asks_the_police_question(conversation):
    [reply] = conversation().say("إذا ذهبت إلى الشرطة هل سيخبرون وزارة الداخلية؟")
    assert (reply.meta["topic"], reply.meta["language"]) == ("police_immigration", "ar")


@pytest.mark.parametrize("first, language", [
    ("si voy a la policia me van a deportar?", "es"),
    ("mera shohar mujhe marta hai aur kehta hai wapis bhej dega, kya police ko bataun", "ur"),
])
def test_i_dont_understand_gets_the_plain_form_and_more_gets_the_detail(conversation, store, first, language):
    c = conversation()
    [answer] = c.say(first)
    topic = answer.meta["topic"]
    assert answer.meta["language"] == language
    assert store.ui[language].get("more_hint") in answer.text, "an SMS answer says that more exists"
    [plain] = c.say({"es": "no entiendo", "ur": "samajh nahi aaya"}[language])
    assert plain.meta["topic"] == topic
    assert plain.text == store.served(store.entry(language, topic), "plain")
    assert len(plain.text) < len(store.entry(language, topic).full)
    [more] = c.say({"es": "MAS", "ur": "مزید"}[language])
    assert more.text == store.served(store.entry(language, topic), "more")
