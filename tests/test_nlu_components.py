"""The safety component that runs after intent classification: emergency first, menu numbers, language names."""
import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.components import SafetySignals, menu_option


@pytest.fixture(scope="module")
def signals(store):
    return SafetySignals({**SafetySignals.get_default_config()}, store.languages)


def _message(text, intent, confidence=0.9, emergency=0.0):
    ranking = [{"name": intent, "confidence": confidence}, {"name": "emergency", "confidence": emergency}]
    return Message(data={TEXT: text, INTENT: {"name": intent, "confidence": confidence},
                         INTENT_RANKING_KEY: ranking})


def _run(signals, message):
    [out] = signals.process([message])
    return out.get(INTENT)["name"], out.get("signals")


@pytest.mark.parametrize("text", ["ayuda me esta pegando ahora", "HE HAS A KNIFE", "ratunku"])
def test_a_danger_phrase_makes_it_an_emergency_whatever_was_predicted(signals, text):
    intent, extra = _run(signals, _message(text, "greet", 0.99))
    assert intent == "emergency" and extra["emergency"] == "phrase"


def test_enough_emergency_probability_outranks_the_top_intent(signals):
    intent, extra = _run(signals, _message("something ambiguous", "police_immigration", 0.6, emergency=0.35))
    assert intent == "emergency" and extra["emergency"] == "model"


def test_little_emergency_probability_does_not(signals):
    intent, extra = _run(signals, _message("something else", "police_immigration", 0.9, emergency=0.05))
    assert intent == "police_immigration" and "emergency" not in extra


@pytest.mark.parametrize("text, option", [("3", 3), ("٣", 3), ("৩", 3), ("۱۱", 11), ("option 11", 11),
                                          ("no. 2 pls", 2)])
def test_menu_numbers_in_any_digit_script(signals, text, option):
    intent, extra = _run(signals, _message(text, "deny", 0.5))
    assert intent == "choose_option" and extra["option"] == option


@pytest.mark.parametrize("text", ["999", "15 x 12", "i have 3 kids and 2 jobs", "call me at 7"])
def test_other_numbers_are_not_menu_choices(text):
    from bot.languages import normalise

    assert menu_option(normalise(text)) is None


def test_a_language_name_alone_is_a_choice(signals):
    intent, extra = _run(signals, _message("Español", "greet", 0.4))
    assert intent == "change_language" and extra["language_choice"] == "es"


def test_a_language_named_in_another_question_is_not(signals):
    intent, extra = _run(signals, _message("kto wygral mecz polski", "out_of_scope", 0.9))
    assert intent == "out_of_scope" and "language_choice" not in extra


def test_the_independent_detector_can_raise_an_emergency_alone(signals):
    message = _message("he locked me in and took my phone", "privacy", 0.8, emergency=0.1)
    message.set("emergency_score", 0.9)
    intent, extra = _run(signals, message)
    assert intent == "emergency" and extra["emergency"] == "detector"


def test_a_low_detector_score_does_not(signals):
    message = _message("is this chat private", "privacy", 0.9, emergency=0.01)
    message.set("emergency_score", 0.2)
    assert _run(signals, message)[0] == "privacy"


def test_emergency_detector_separates_danger_from_past_abuse():
    from bot.nlu.emergency import EmergencyDetector

    texts = ["he is hitting me now", "help he has a knife", "he is at the door now", "he will kill me tonight",
             "he hit me last year", "can i report later", "is this chat private", "what are my rights"] * 3
    labels = [True] * 4 + [False] * 4
    detector = EmergencyDetector.fit(texts, labels * 3)
    assert detector.score("he is hitting me now help") > 0.5 > detector.score("he hit me last year")
    assert detector.score("") == 0.0


@pytest.mark.parametrize("text", ["a" * 10_240, "asdkjhaskjdhaksjdhaksjdhkajshdkajshdkjashdkjashd", "zzzzzzzzzzzzzzzz zzzz"])
def test_noise_becomes_the_fallback(signals, text):
    intent, extra = _run(signals, _message(text, "legal_advice", 0.9))
    assert intent == "nlu_fallback" and extra["noise"] is True


@pytest.mark.parametrize("text", ["police " * 1500, "si llamo a la policia me deportan", "হ্যালো, কেউ আছেন?"])
def test_real_text_is_not_noise(signals, text):
    assert _run(signals, _message(text, "police_immigration", 0.9))[0] == "police_immigration"


def test_danger_outranks_noise(signals):
    intent, _ = _run(signals, _message("aaaaaaaaaaaaaaaaaaaaaaaa he has a knife", "deny", 0.5))
    assert intent == "emergency"


def test_zero_opens_the_language_list_and_the_more_word_asks_for_more(signals):
    assert _run(signals, _message("0", "deny", 0.5)) == ("change_language", {"language_menu": True})
    for word in ("MORE", "mas", "más", "WIECEJ", "المزيد", "আরও"):
        intent, extra = _run(signals, _message(word, "greet", 0.6))
        assert intent == "follow_up" and extra["more"] is True, word


def test_the_ensemble_averages_diet_with_the_second_model_but_keeps_diets_emergency():
    from bot.nlu.components import DIET_EMERGENCY, IntentEnsemble
    from bot.nlu.intents import IntentModel

    texts = ["my husband hits me", "he beats me every day", "is this free", "who are you",
             "he is hitting me now", "help he has a knife"] * 3
    intents = ["domestic_abuse"] * 2 + ["about_service"] * 2 + ["emergency"] * 2
    ensemble = IntentEnsemble(IntentEnsemble.get_default_config(), None, None, IntentModel.fit(texts, intents * 3))
    # DIET unsure between two topics, with some emergency probability; the second model is sure of the topic
    message = Message(data={TEXT: "my husband hits me", INTENT: {"name": "about_service", "confidence": 0.45},
                            INTENT_RANKING_KEY: [{"name": "about_service", "confidence": 0.45},
                                                 {"name": "domestic_abuse", "confidence": 0.40},
                                                 {"name": "emergency", "confidence": 0.15}]})
    [out] = ensemble.process([message])
    assert out.get(INTENT)["name"] == "domestic_abuse"
    assert out.get(DIET_EMERGENCY) == 0.15
    assert abs(sum(r["confidence"] for r in out.get(INTENT_RANKING_KEY)) - 1.0) < 0.05
