"""Redaction recall, over-redaction and time per message on the labelled set.

    python -m bench.redaction_bench              # bench/redaction/labelled.yml, 20 timed runs of each message
    python -m bench.redaction_bench --misses     # also list what was missed or over-redacted (fictitious data only)
    python -m bench.redaction_bench --set adversarial   # the second set (issue 8): recall per category and language

Recall: identifying spans fully removed / all identifying spans (a span with any character left counts as missed).
Over-redaction: characters of non-identifying text removed / all non-identifying characters, and the number of
messages in which anything non-identifying was removed. Every occurrence of a labelled value counts as identifying.
"""
from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple

import yaml

from bot.privacy.redact import KINDS, Redactor, Span
from bot.settings import ROOT

LABELLED = ROOT / "bench" / "redaction" / "labelled.yml"
#: written by a helper that did not see the rules, from the ways details slipped through in the attack (issue 8)
ADVERSARIAL = ROOT / "bench" / "redaction" / "adversarial.yml"
#: a second helper's set in the same categories, not looked at while the rules were written: the honest figure
HOLDOUT = ROOT / "bench" / "redaction" / "adversarial_holdout.yml"
SETS = {"labelled": LABELLED, "adversarial": ADVERSARIAL, "holdout": HOLDOUT}
#: the targets tests/test_redaction.py holds the redactor to
STRICT_KINDS = ("phone", "email", "postcode", "ni", "passport", "id")
TARGETS = {"strict_recall": 1.0, "name_recall": 0.95, "over_redaction": 0.02}


@dataclass(frozen=True)
class Labelled:
    """One message of the labelled set: its language, text and the identifying spans (kind, start, end)."""

    lang: str
    text: str
    identifying: Tuple[Tuple[str, int, int], ...]
    category: str = ""


@dataclass(frozen=True)
class Scored:
    """What the redactor did to one labelled message."""

    message: Labelled
    found: Tuple[Tuple[str, bool], ...]  # (kind, fully removed) for each identifying span
    over_chars: int  # non-identifying characters removed
    over_kinds: Tuple[str, ...]  # kinds of the spans that removed them
    clean_chars: int  # non-identifying characters in the message
    ms: float  # mean time to redact it


def load_labelled(path: Path = LABELLED) -> List[Labelled]:
    """The labelled set, each value located in its text (every occurrence); fails naming a value that is absent."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for n, row in enumerate(rows, start=1):
        text = str(row["text"])
        spans = []
        for item in row.get("identifying") or []:
            kind, value = str(item["kind"]), str(item["value"])
            if kind not in KINDS:
                raise ValueError(f"{path}: message {n}: unknown kind {kind!r}")
            start = text.find(value)
            if start < 0:
                raise ValueError(f"{path}: message {n}: a {kind} value is not in its text")
            while start >= 0:
                spans.append((kind, start, start + len(value)))
                start = text.find(value, start + 1)
        out.append(Labelled(str(row["lang"]), text, tuple(spans), str(row.get("category") or "")))
    return out


def score(message: Labelled, spans: Sequence[Span], ms: float = 0.0) -> Scored:
    """Compare the spans a redactor removed with the labelled identifying spans."""
    removed: Dict[int, str] = {i: s.kind for s in spans for i in range(s.start, s.end)}
    identifying: Set[int] = {i for _, start, end in message.identifying for i in range(start, end)}
    found = tuple((kind, all(i in removed for i in range(start, end))) for kind, start, end in message.identifying)
    over = [i for i in removed if i not in identifying]
    return Scored(message, found, len(over), tuple(sorted({removed[i] for i in over})),
                  len(message.text) - len(identifying), ms)


def evaluate(redactor: Redactor, messages: Sequence[Labelled], repeat: int = 20) -> List[Scored]:
    """Score every message; time ``repeat`` runs of ``redact`` on each (after one untimed run)."""
    results = []
    for message in messages:
        redactor.redact(message.text)
        started = time.perf_counter()
        for _ in range(repeat):
            redactor.redact(message.text)
        ms = (time.perf_counter() - started) * 1000 / max(repeat, 1)
        results.append(score(message, redactor.find(message.text), ms))
    return results


@dataclass(frozen=True)
class Figures:
    """Recall and over-redaction over a group of scored messages."""

    messages: int
    spans: int
    removed: int
    over_chars: int
    clean_chars: int
    over_messages: int

    @property
    def recall(self) -> float:
        return self.removed / self.spans if self.spans else 1.0

    @property
    def over_rate(self) -> float:
        return self.over_chars / self.clean_chars if self.clean_chars else 0.0


def figures(results: Sequence[Scored], kind: str = "") -> Figures:
    """Figures for ``results``; with ``kind``, recall of that kind and the over-redaction done by spans of that kind."""
    found = [ok for r in results for k, ok in r.found if not kind or k == kind]
    over = [r for r in results if r.over_chars and (not kind or kind in r.over_kinds)]
    return Figures(len(results), len(found), sum(found), sum(r.over_chars for r in over),
                   sum(r.clean_chars for r in results), len(over))


def targets_met(results: Sequence[Scored]) -> bool:
    strict = all(figures(results, k).recall >= TARGETS["strict_recall"] for k in STRICT_KINDS)
    return (strict and figures(results, "name").recall >= TARGETS["name_recall"]
            and figures(results).over_rate <= TARGETS["over_redaction"])


def ordinary_messages() -> List[str]:
    """The NLU evaluation sets (bench/heldout, bench/unseen): how women write, with nothing identifying in them."""
    texts = []
    for folder in ("heldout", "unseen"):
        for path in sorted((ROOT / "bench" / folder).glob("*.yml")):
            texts += [str(row["text"]) for row in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]]
    return texts


def changed(redactor: Redactor, texts: Sequence[str]) -> List[str]:
    """The ordinary messages the redactor would change (each is a false alarm that also hides words from Rasa)."""
    return [text for text in texts if redactor.find(text)]


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def report(results: Sequence[Scored], show_misses: bool = False) -> bool:
    """Print the tables; True when the targets are met."""
    by_lang: Dict[str, List[Scored]] = collections.defaultdict(list)
    for r in results:
        by_lang[r.message.lang].append(r)
    print(f"\nRedaction on {len(results)} labelled messages "
          f"({sum(1 for r in results if not r.message.identifying)} with nothing identifying)\n")
    print(f"{'language':<9}{'msgs':>6}{'spans':>7}{'recall':>9}{'over chars':>12}{'over msgs':>11}"
          f"{'mean ms':>9}{'p95 ms':>8}")
    for lang in sorted(by_lang) + ["all"]:
        rs = results if lang == "all" else by_lang[lang]
        f = figures(rs)
        times = [r.ms for r in rs]
        print(f"{lang:<9}{f.messages:>6}{f.spans:>7}{f.recall:>9.1%}{f.over_rate:>12.2%}"
              f"{f.over_messages:>7}/{f.messages:<3}{statistics.mean(times):>9.3f}{percentile(times, 95):>8.3f}")
    print(f"\n{'kind':<10}{'spans':>7}{'recall':>9}{'over chars':>12}{'over msgs':>11}")
    for kind in KINDS:
        f = figures(results, kind)
        print(f"{kind:<10}{f.spans:>7}{f.recall:>9.1%}{f.over_rate:>12.2%}{f.over_messages:>11}")
    categories = sorted({r.message.category for r in results if r.message.category})
    if categories:
        langs = sorted(by_lang)
        print("\nrecall by category and language (spans found / spans; 'negative': messages left untouched)")
        print(f"{'category':<14}" + "".join(f"{lang:>9}" for lang in langs) + f"{'all':>9}")
        for category in categories:
            cells = []
            for lang in langs + ["all"]:
                rs = [r for r in results if r.message.category == category and lang in ("all", r.message.lang)]
                if category == "negative":
                    cells.append(f"{sum(not r.over_chars for r in rs)}/{len(rs)}" if rs else "-")
                else:
                    f = figures(rs)
                    cells.append(f"{f.recall:.0%}" if f.spans else "-")
            print(f"{category:<14}" + "".join(f"{c:>9}" for c in cells))
    if show_misses:
        print("\nMissed (kind: message) and over-redacted (kinds: message):")
        for r in results:
            for kind, ok in r.found:
                if not ok:
                    print(f"  missed {kind}: [{r.message.lang}] {r.message.text}")
            if r.over_chars:
                print(f"  over {','.join(r.over_kinds)} ({r.over_chars} chars): [{r.message.lang}] {r.message.text}")
    return targets_met(results)


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each message (default 20)")
    parser.add_argument("--misses", action="store_true", help="list the missed and over-redacted messages")
    parser.add_argument("--set", choices=sorted(SETS), default="labelled", help="which labelled set (default labelled)")
    args = parser.parse_args(list(argv) or None)
    started = time.perf_counter()
    redactor = Redactor.load(ROOT / "locales")
    load_ms = (time.perf_counter() - started) * 1000
    results = evaluate(redactor, load_labelled(SETS[args.set]), args.repeat)
    met = report(results, args.misses)
    ordinary = ordinary_messages()
    false_alarms = changed(redactor, ordinary)
    print(f"\nordinary messages changed (NLU evaluation sets, nothing identifying in them): "
          f"{len(false_alarms)}/{len(ordinary)} ({len(false_alarms) / len(ordinary):.2%})")
    if args.set != "labelled":  # the floors of tests/test_redaction.py hold this set; the targets are the first set's
        print(f"\nloaded in {load_ms:.0f} ms")
        return
    print(f"\nloaded in {load_ms:.0f} ms; targets (100% recall on {', '.join(STRICT_KINDS)}; >= 95% on names; "
          f"<= 2% of non-identifying characters removed): {'MET' if met else 'NOT MET'}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
