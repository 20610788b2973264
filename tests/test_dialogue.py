"""The per-turn decision (actions.dialogue.decide): emergency first, language rules, menus, follow-ups."""
import pytest

from actions.dialogue import LANGUAGE_MENU, LANGUAGE_MENU_TOPIC, START, TOPIC_MENU, State, Turn, decide
from bot.content.store import ANSWER, LANGUAGE_MENU as THEN_LANGUAGE_MENU, MORE, PLAIN
from bot.languages import ARABIC, BENGALI, LATIN


@pytest.fixture
def run(store):
    def _decide(state=State(), **turn):
        turn.setdefault("confidence", 0.9)
        return decide(Turn(**turn), state, store.languages, store.menu)
    return _decide


def test_emergency_outranks_an_unknown_language(run):
    d = run(intent="emergency", detected_language=None)
    assert (d.topic, d.language) == ("emergency", "en")


def test_emergency_answers_in_the_conversation_language(run):
    d = run(State(language="pl"), intent="emergency", detected_language="en", detected_confidence=0.5, words=2)
    assert (d.topic, d.language) == ("emergency", "pl")


def test_emergency_outranks_an_open_language_menu(run):
    d = run(State(menu=LANGUAGE_MENU), intent="emergency", detected_language="ur", detected_confidence=0.9, words=5)
    assert d.topic == "emergency" and d.language == "ur"


def test_first_message_in_unknown_language_gets_the_language_menu(run):
    d = run(intent="greet", detected_language=None, words=5)
    assert d.topic == LANGUAGE_MENU_TOPIC and d.state.menu == LANGUAGE_MENU


def test_first_message_uses_the_client_hint_when_detection_is_unsure(run):
    d = run(intent="greet", detected_language="ur", detected_confidence=0.2, words=1, language_hint="bn")
    assert d.language == "bn" and d.topic == "greet"


@pytest.mark.parametrize("words, confidence, expected", [(1, 0.95, "es"), (3, 0.99, "es"), (6, 0.6, "es"),
                                                         (6, 0.95, "ur")])
def test_the_client_hint_holds_unless_a_message_clears_the_switch_bar(run, words, confidence, expected):
    d = run(intent="greet", detected_language="ur", detected_confidence=confidence, words=words, language_hint="es")
    assert d.language == expected


def test_a_number_answers_the_language_menu(run):
    d = run(State(menu=LANGUAGE_MENU), intent="choose_option", option=2)
    assert (d.topic, d.language, d.state.menu) == ("greet", "es", TOPIC_MENU)


@pytest.mark.parametrize("text_words, confidence", [(1, 0.99), (2, 0.99), (3, 0.95), (6, 0.6)])
def test_short_or_unsure_messages_never_flip_the_language(run, text_words, confidence):
    d = run(State(language="es", menu=TOPIC_MENU), intent="thanks", detected_language="en",
            detected_confidence=confidence, words=text_words)
    assert d.language == "es"


def test_a_long_confident_message_switches_the_language(run):
    d = run(State(language="es", menu=TOPIC_MENU), intent="police_immigration", detected_language="pt",
            detected_confidence=0.95, words=8)
    assert (d.language, d.topic) == ("pt", "police_immigration")


def test_naming_a_language_chooses_it(run):
    d = run(State(language="en"), intent="change_language", language_choice="fr")
    assert (d.topic, d.language) == ("greet", "fr")


def test_change_language_without_a_name_opens_the_language_menu(run):
    d = run(State(language="en", menu=TOPIC_MENU), intent="change_language", detected_language="en",
            detected_confidence=0.9, words=2)
    assert d.topic == "change_language" and d.state.menu == LANGUAGE_MENU


def test_a_number_answers_the_topic_menu(run):
    d = run(State(language="en", menu=TOPIC_MENU), intent="choose_option", option=1)
    assert d.topic == "police_immigration"


def test_a_number_outside_the_menu_falls_back(run):
    d = run(State(language="en", menu=TOPIC_MENU), intent="choose_option", option=19)
    assert d.topic == "fallback"


def test_follow_up_is_about_the_last_topic(run):
    d = run(State(language="en", last_topic="no_recourse_funds", menu=TOPIC_MENU), intent="follow_up")
    assert (d.topic, d.follow_up) == ("no_recourse_funds", True)


def test_follow_up_without_a_topic_shows_the_menu(run):
    d = run(State(language="en", menu=TOPIC_MENU), intent="follow_up")
    assert (d.topic, d.follow_up) == ("menu", False)


def test_yes_after_not_sure_means_a_person(run):
    d = run(State(language="en", last_topic="fallback", menu=TOPIC_MENU), intent="affirm")
    assert d.topic == "talk_to_person"


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope"])
def test_low_confidence_and_off_topic_get_the_fallback(run, intent):
    d = run(State(language="fr", menu=TOPIC_MENU), intent=intent)
    assert d.topic == "fallback" and d.language == "fr"


def test_forget_me_clears_everything(run):
    d = run(State(language="ro", last_topic="trafficking", menu=TOPIC_MENU), intent="forget_me")
    assert d.forget and d.state == State() and d.language == "ro"


def test_forget_me_is_honoured_before_any_language_is_known(run):
    d = run(intent="forget_me", detected_language=None)
    assert d.topic == "forget_me" and d.forget and d.state == State()


# ---- the first message's language: short messages, words and scripts, best guesses --------------------------------

@pytest.mark.parametrize("intent", ["greet", "affirm", "emergency", "talk_to_person"])
def test_a_short_first_message_stays_in_the_default_language(run, intent):
    # "hi", "ok", "help me", "i am scared": the detector reads "hi" as Urdu with 0.86; its words decide nothing
    d = run(intent=intent, detected_language="ur", detected_confidence=0.86, words=1, script=LATIN)
    assert d.language == "en" and d.state.language == "en"
    assert d.language_line  # a guess: the answer ends with how to change language


def test_a_short_first_message_in_words_of_one_language_sets_it(run):
    d = run(intent="greet", detected_language="pt", detected_confidence=0.5, words=1, script=LATIN,
            marked_languages=frozenset({"es"}))
    assert (d.language, d.language_line) == ("es", False)


def test_a_short_first_message_in_bengali_script_is_bengali(run):
    d = run(intent="greet", detected_language="ur", detected_confidence=0.3, words=1, script=BENGALI)
    assert (d.language, d.language_line) == ("bn", False)


def test_a_short_first_message_in_arabic_script_is_arabic_or_urdu(run):
    assert run(intent="greet", detected_language="ur", detected_confidence=0.6, words=1, script=ARABIC).language \
        == "ur"
    d = run(intent="greet", detected_language="ar", detected_confidence=0.2, words=1, script=ARABIC)
    assert d.topic == LANGUAGE_MENU_TOPIC  # the script says Arabic or Urdu; nothing says which


def test_a_clear_question_in_an_unclear_language_gets_the_best_guess_not_the_menu(run):
    d = run(intent="police_immigration", confidence=0.8, detected_language="pt", detected_confidence=0.3,
            words=9, script=LATIN)
    assert (d.topic, d.language, d.language_line) == ("police_immigration", "pt", True)


def test_a_clear_question_in_an_unsupported_language_is_answered_in_the_default(run):
    d = run(intent="police_immigration", confidence=0.8, detected_language=None, words=9)
    assert (d.topic, d.language, d.language_line) == ("police_immigration", "en", True)


def test_a_fairly_sure_first_message_is_a_guess(run):
    d = run(intent="healthcare", detected_language="ro", detected_confidence=0.6, words=7, script=LATIN)
    assert (d.language, d.language_line) == ("ro", True)
    assert run(intent="healthcare", detected_language="ro", detected_confidence=0.95, words=7).language_line is False


def test_an_unclear_message_in_an_unclear_language_gets_the_language_menu(run):
    d = run(intent="nlu_fallback", confidence=0.2, detected_language="pt", detected_confidence=0.3, words=6)
    assert d.topic == LANGUAGE_MENU_TOPIC


def test_telegram_start_greets_then_offers_the_languages(run):
    d = run(intent="greet", command=START, language_hint="es", words=1)
    assert (d.topic, d.language, d.then, d.state.menu) == ("greet", "es", THEN_LANGUAGE_MENU, LANGUAGE_MENU)
    d = run(intent="greet", command=START, words=1)
    assert (d.language, d.state.language, d.then) == ("en", None, THEN_LANGUAGE_MENU)


# ---- more, and simpler ----------------------------------------------------------------------------------------------

def test_more_gives_the_next_detail(run):
    d = run(State(language="es", last_topic="police_immigration", menu=TOPIC_MENU), intent="follow_up")
    assert (d.topic, d.variant) == ("police_immigration", MORE)


@pytest.mark.parametrize("last", ["police_immigration", "emergency", "domestic_abuse", "status_worry"])
def test_i_dont_understand_gives_the_plain_form_of_the_last_answer(run, last):
    d = run(State(language="ur", last_topic=last, menu=TOPIC_MENU), intent="simpler")
    assert (d.topic, d.variant, d.language) == (last, PLAIN, "ur")
    assert d.state.last_topic == last


def test_i_dont_understand_as_a_first_message_explains_the_service(run):
    d = run(State(language="en"), intent="simpler")
    assert (d.topic, d.variant) == ("about_service", ANSWER)


@pytest.mark.parametrize("intent", ["domestic_abuse", "status_worry", "about_service"])
def test_the_new_topics_answer_directly(run, intent):
    d = run(State(language="fr", menu=TOPIC_MENU), intent=intent)
    assert (d.topic, d.variant) == (intent, ANSWER)


def test_a_short_first_message_in_a_language_the_service_does_not_speak_gets_the_language_list(run):
    d = run(intent="greet", detected_language=None, words=1, detection_method="unsupported-script")
    assert d.topic == LANGUAGE_MENU_TOPIC


@pytest.mark.parametrize("votes, marked, expected", [
    ({"pl": 1}, frozenset(), "pl"),                 # "zostałam zgwałcona": a Polish word (or letter)
    ({"en": 1, "ro": 1}, frozenset(), "en"),        # "i am scared": a tie decides nothing: the default, as a guess
    ({"ur": 3}, frozenset({"ur"}), "ur"),           # "mera rape hua hai"
    ({"es": 1}, frozenset({"pt"}), "en"),           # one word each way: a tie
    ({"es": 2}, frozenset({"pt"}), "es"),
])
def test_a_short_first_message_is_decided_by_the_words_only_one_language_uses(run, votes, marked, expected):
    d = run(intent="sexual_violence", detected_language="en", detected_confidence=0.5, words=2, script=LATIN,
            language_votes=votes, marked_languages=marked)
    assert d.language == expected
    assert d.language_line is (expected == "en")
