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


@pytest.mark.parametrize("end", ["\u06d4", "\u061f", "\u0964", ".", "!", "?"])
def test_split_falls_between_sentences_in_every_script(end):
    # Urdu full stop, Arabic question mark, Bengali danda and Latin punctuation all end a sentence
    sentence = {"\u06d4": "یہ ایک جملہ ہے", "\u061f": "هل هذه جملة", "\u0964": "এটা একটা বাক্য"}.get(end, "A sentence")
    text = " ".join([sentence + end] * 30)
    limit = 67 if encoding_of(text) == UCS2 else 153
    parts = split_for_segments(text, limit)
    assert len(parts) > 1
    assert all(p.endswith(end) for p in parts), [p[-5:] for p in parts]
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_the_closing_note_never_goes_on_its_own():
    note = "(ترجمہ ابھی کسی نے چیک نہیں کیا)"
    hint = "مزید کے لیے مزید لکھیں۔"
    # the body fills its parts exactly, so a naive split would send the hint and the note as a message of their own
    body = " ".join(["یہ ایک لمبا جملہ ہے جو بھرتا ہے۔"] * 12)
    parts = split_for_segments(f"{body}\n{hint}\n{note}", 201)
    assert parts[-1].endswith(note)
    assert parts[-1].split("\n")[0] not in (hint, note), "the last message carries a sentence of the answer"
    assert all(units(p, UCS2) <= 201 for p in parts)


def test_the_neutral_line_opens_the_first_body_only():
    from bot.channels.sms_format import sms_bodies

    neutral = "Hello, here is the information you asked for."
    bodies = sms_bodies("Sentence number one is here. " * 30, neutral)
    assert len(bodies) > 1
    assert bodies[0].startswith(neutral + "\n")
    assert not any(b.startswith(neutral) for b in bodies[1:])
    assert all(cost(b).segments <= 3 for b in bodies)
