"""SMS encoding and segment arithmetic against hand-counted cases."""
import pytest

from bot.content.sms import GSM7, UCS2, cost, encoding_of, split_for_segments, units


@pytest.mark.parametrize("text, encoding, n, segments", [
    ("a" * 160, GSM7, 160, 1),
    ("a" * 161, GSM7, 161, 2),
    ("a" * 306, GSM7, 306, 2),
    ("a" * 307, GSM7, 307, 3),
    ("é ñ ü à Ç £ @", GSM7, 13, 1),           # accented letters that GSM 03.38 has
    ("€" * 80, GSM7, 160, 1),                 # extension table: two septets each
    ("€" * 81, GSM7, 162, 2),
    ("á" + "a" * 69, UCS2, 70, 1),             # one letter outside GSM-7 makes the whole text UCS-2
    ("á" + "a" * 70, UCS2, 71, 2),
    ("it’s", UCS2, 4, 1),                      # a curly apostrophe is enough
    ("ب" * 201, UCS2, 201, 3),
    ("ب" * 202, UCS2, 202, 4),
    ("😀" * 35, UCS2, 70, 1),                  # an emoji is two UTF-16 code units
])
def test_cost(text, encoding, n, segments):
    c = cost(text)
    assert (c.encoding, c.units, c.segments) == (encoding, n, segments)


def test_split_keeps_sentences_and_fits():
    text = "First sentence here. " * 20 + "Last one?"
    parts = split_for_segments(text, 153)
    assert len(parts) > 1
    assert all(units(p, encoding_of(text)) <= 153 for p in parts)
    assert all(p.endswith((".", "?")) for p in parts)
    assert " ".join(parts).split() == text.split()


def test_split_cuts_a_long_word_run_on_spaces():
    text = "word " * 100
    parts = split_for_segments(text.strip(), 67)
    assert all(len(p) <= 67 for p in parts)
    assert " ".join(parts).split() == text.split()
