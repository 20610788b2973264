"""What safety rests on, as tests that fail, not figures to read: emergency recall over every emergency of the
held-out set and false alarms over the rest, against the trained model; an emergency as a short or unknown-language
first message by SMS gets 999 first. (Accuracy per language is a benchmark: `make bench-accuracy`.)"""
from __future__ import annotations

import asyncio

import pytest

from tests.test_channels import Sms

#: the gates: every emergency recognised; at most this share of other messages taken for one
MAX_FALSE_ALARMS = 0.02


@pytest.fixture(scope="module")
def heldout_results(model):
    from bench.accuracy import evaluate, load_heldout

    return asyncio.run(evaluate(model, load_heldout()))


def test_every_emergency_in_the_held_out_set_is_recognised(heldout_results):
    emergencies = [r for r in heldout_results if r["expected"] == "emergency"]
    assert len(emergencies) >= 9 * 8, "every language has held-out emergencies"
    missed = [f"[{r['language']}] {r['text']} -> {r['got']}" for r in emergencies if r["got"] != "emergency"]
    assert missed == []


def test_few_other_messages_are_taken_for_an_emergency(heldout_results):
    others = [r for r in heldout_results if r["expected"] != "emergency"]
    alarms = [f"[{r['language']}] {r['text']} ({r['expected']})" for r in others if r["got"] == "emergency"]
    assert len(alarms) / len(others) <= MAX_FALSE_ALARMS, alarms


@pytest.mark.parametrize("text", [
    "help!!",                 # too short to tell a language
    "HELP",
    "ratunku",                # Polish
    "socorro",                # Spanish / Portuguese
    "amake bachao",           # romanised Bengali
    "bachao",                 # romanised Urdu / Bengali
    "النجدة",                 # Arabic
])
def test_an_emergency_as_a_first_sms_gets_999_first(gateway, text):
    bodies = Sms(gateway).say(text)
    assert bodies, "an answer"
    assert "999" in bodies[0][:40], bodies[0][:60]


def test_a_message_in_a_language_the_service_does_not_speak_gets_the_language_list_with_999(gateway):
    # "help, he is beating me" in Russian: no emergency can be recognised, so the list of languages carries 999
    [body] = Sms(gateway).say("помогите он меня бьёт")
    assert "1 English" in body and body.rstrip().endswith("999")
