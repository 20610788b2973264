"""Offline language detection for short, mixed, romanised SMS-style messages.

The detector learns from the training data itself (``data/nlu/<lang>.yml``: the language of an example is its
file), with character n-grams and logistic regression. That is what sees romanised Urdu ("mujhe madad chahiye")
and Banglish, which general-purpose identifiers read as English or Spanish. py3langid (its model ships inside the
package) is kept for what it is good at: noticing that a message is in a language we do not support, so that the
user is shown the language menu instead of being answered in a wrong language.

Measured on the held-out set: ``python -m bench.accuracy`` reports language accuracy per language.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from bot.languages import normalise

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
#: scripts the supported languages are written in; anything else (Cyrillic, CJK, ...) is not supported
_KNOWN_SCRIPT = re.compile(r"[A-Za-z\u00C0-\u024F\u0600-\u06FF\u0750-\u077F\uFB50-\uFEFF\u0980-\u09FF]")


@dataclass(frozen=True)
class Detection:
    """The language a message seems to be in; ``language`` is None when it cannot be told or is unsupported."""

    language: Optional[str]
    confidence: float
    method: str
    words: int
    #: how many of its words only one language's training examples use, per language ("ayuda" -> es)
    votes: Dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> Dict:
        return {"code": self.language, "confidence": round(self.confidence, 3), "method": self.method,
                "words": self.words, "votes": dict(self.votes)}


def examples_by_language(nlu_dir: Path, codes: Sequence[str]) -> Tuple[List[str], List[str]]:
    """Every training example with a letter in it, labelled with the language of its file."""
    texts: List[str] = []
    labels: List[str] = []
    for code in codes:
        path = nlu_dir / f"{code}.yml"
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip()[2:].strip() if line.strip().startswith("- ") else ""
                if _LETTER.search(text):
                    texts.append(text)
                    labels.append(code)
    return texts, labels


class LanguageDetector:
    """Detects one of the supported languages, or None. Build it with :meth:`fit`; pickle it with the model."""

    #: py3langid must be this sure of an unsupported language, and we this unsure, to call a message unsupported
    UNSUPPORTED_MIN = 0.95
    OURS_MAX_WHEN_UNSUPPORTED = 0.7

    #: a word is a language's own when at least this share of the training examples using it are in that language,
    #: and at least DISTINCTIVE_MIN of them ("hi", "ok", "help", "police" are in many: they decide nothing); words
    #: shorter than DISTINCTIVE_LENGTH never decide ("am" is English and Romanian, "da", "si", "no", "ja" many)
    DISTINCTIVE_SHARE = 0.9
    DISTINCTIVE_MIN = 2
    DISTINCTIVE_LENGTH = 3

    def __init__(self, codes: Sequence[str], pipeline, vocabulary: Optional[Dict[str, str]] = None) -> None:
        self.codes = tuple(codes)
        self._pipeline = pipeline
        self._vocabulary = vocabulary or {}
        self._langid = None

    @classmethod
    def fit(cls, texts: Iterable[str], labels: Iterable[str], codes: Sequence[str]) -> "LanguageDetector":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        pipeline = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, preprocessor=normalise),
            LogisticRegression(C=10, max_iter=2000),
        )
        texts, labels = list(texts), list(labels)
        pipeline.fit(texts, labels)
        return cls(codes, pipeline, cls._distinctive_words(texts, labels))

    @classmethod
    def _distinctive_words(cls, texts: Sequence[str], labels: Sequence[str]) -> Dict[str, str]:
        seen: Dict[str, Counter] = defaultdict(Counter)
        for text, label in zip(texts, labels):
            for word in set(normalise(text).split()):
                seen[word][label] += 1
        vocabulary = {}
        for word, by_language in seen.items():
            if len(word) < cls.DISTINCTIVE_LENGTH:
                continue
            language, count = by_language.most_common(1)[0]
            if count >= cls.DISTINCTIVE_MIN and count / sum(by_language.values()) >= cls.DISTINCTIVE_SHARE:
                vocabulary[word] = language
        return vocabulary

    def __getstate__(self) -> Dict:
        return {"codes": self.codes, "pipeline": self._pipeline, "vocabulary": self._vocabulary}

    def __setstate__(self, state: Dict) -> None:
        self.codes, self._pipeline, self._langid = state["codes"], state["pipeline"], None
        self._vocabulary = state.get("vocabulary") or {}

    def detect(self, text: str) -> Detection:
        norm = normalise(text)
        words = len(norm.split())
        letters = _LETTER.findall(norm)
        if not letters:
            return Detection(None, 0.0, "none", words)
        known = len(_KNOWN_SCRIPT.findall(norm))
        if known < len(letters) / 2:
            return Detection(None, 0.0, "unsupported-script", words)
        probabilities = self._pipeline.predict_proba([norm])[0]
        best = int(probabilities.argmax())
        language, confidence = str(self._pipeline.classes_[best]), float(probabilities[best])
        if words >= 3 and confidence < self.OURS_MAX_WHEN_UNSUPPORTED:
            other, other_confidence = self._langid_classify(norm)
            if other not in self.codes and other_confidence >= self.UNSUPPORTED_MIN:
                return Detection(None, 0.0, "unsupported-language", words)
        votes = Counter(self._vocabulary[w] for w in norm.split() if w in self._vocabulary)
        return Detection(language, confidence, "char-ngrams", words, dict(votes))

    def _langid_classify(self, norm: str) -> Tuple[str, float]:
        if self._langid is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            self._langid = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
        code, probability = self._langid.classify(norm)
        return str(code), float(probability)
