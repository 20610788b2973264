"""Language detection (trained from data/nlu) and the language data helpers."""
import pytest

from bot.languages import normalise
from bot.nlu.detect import LanguageDetector, examples_by_language
from conftest import ROOT


@pytest.fixture(scope="module")
def detector(store):
    texts, labels = examples_by_language(ROOT / "data" / "nlu", store.languages.codes)
    return LanguageDetector.fit(texts, labels, store.languages.codes)


@pytest.mark.parametrize("text, language", [
    ("si llamo a la policia me van a deportar", "es"),
    ("a policia vai contar pra imigracao se eu denunciar", "pt"),
    ("est-ce que la police va le dire au home office", "fr"),
    ("czy policja powie home office ze nie mam wizy", "pl"),
    ("daca sun la politie ma raporteaza la home office", "ro"),
    ("اگر میں پولیس کو بتاؤں تو کیا وہ ہوم آفس کو بتائیں گے", "ur"),
    ("kya police home office ko bata degi agar main report karun", "ur"),   # romanised Urdu
    ("هل ستخبر الشرطة وزارة الداخلية إذا بلغت", "ar"),
    ("পুলিশকে বললে কি হোম অফিস জানবে", "bn"),
    ("ami police ke bolle ki home office jante parbe", "bn"),              # romanised Bengali
    ("will the police tell the home office about my visa", "en"),
])
def test_detects_real_style_messages(detector, text, language):
    result = detector.detect(text)
    assert result.language == language and result.confidence >= 0.5


@pytest.mark.parametrize("text", ["", "   ", "12345", "😀😀😀", "!!!"])
def test_no_letters_means_no_language(detector, text):
    assert detector.detect(text).language is None


@pytest.mark.parametrize("text", ["wird die polizei es dem home office sagen wenn ich anzeige erstatte",
                                  "полиция скажет в home office если я заявлю"])
def test_unsupported_languages_are_not_guessed(detector, text):
    assert detector.detect(text).language is None


def test_detector_survives_pickling(detector):
    import pickle

    again = pickle.loads(pickle.dumps(detector))
    assert again.detect("hola necesito ayuda").language == "es"


def test_normalise_strips_latin_accents_but_keeps_other_scripts_marks():
    assert normalise("¿Policía, AYUDA!") == "policia ayuda"
    assert normalise("মেরে ফেলবে") == "মেরে ফেলবে"       # Bengali vowel signs are marks, not punctuation
    assert normalise("پولیس کو") == "پولیس کو"


def test_named_language(store):
    assert store.languages.named_in("español") == "es"
    assert store.languages.named_in("urdu please") == "ur"
    assert store.languages.named_in("english or polish") is None        # two languages named: not a choice
    assert store.languages.named_in("will the police tell the home office if i report this today") is None


def test_short_words_shared_by_languages_never_decide_a_language():
    # "i am illegal": "am" is Romanian in most training examples, but English too: it must not make this Romanian
    from bot.nlu.detect import LanguageDetector

    romanian = [f"am {word} azi" for word in ("fost", "bani", "nevoie", "frica", "copii", "acte", "casa", "viza",
                                                "munca", "treaba")]
    texts = romanian + ["i am scared", "i need help", "sunt aici"]
    labels = ["ro"] * 10 + ["en", "en", "ro"]
    detector = LanguageDetector.fit(texts * 2, labels * 2, ("en", "ro"))  # "am": 20 Romanian examples, 2 English
    assert "ro" not in detector.detect("i am illegal").votes
    assert detector.detect("nu am bani deloc").votes.get("ro", 0) >= 1
