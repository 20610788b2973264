"""A second, independent emergency detector: emergency against everything else, on tf-idf character and word
n-grams, with balanced class weights.

Why a second model: recall of emergencies must be 100%, and one classifier's probability moves with every
retraining (a message about being locked in and having the phone taken can drift towards "privacy"). The safety
component treats a message as an emergency when DIET *or* this detector says so; with balanced weights 0.5 is
its natural decision boundary, not a value tuned on the evaluation set. Figures: docs/benchmarks.md.
"""
from __future__ import annotations

from typing import Iterable

from bot.languages import normalise


class EmergencyDetector:
    """P(emergency | text). Build with :meth:`fit`; pickled inside the Rasa model."""

    def __init__(self, pipeline) -> None:
        self._pipeline = pipeline

    @classmethod
    def fit(cls, texts: Iterable[str], is_emergency: Iterable[bool]) -> "EmergencyDetector":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        features = make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, preprocessor=normalise,
                            min_df=2),
            TfidfVectorizer(sublinear_tf=True, preprocessor=normalise),
        )
        pipeline = make_pipeline(features, LogisticRegression(C=10, class_weight="balanced", max_iter=3000))
        pipeline.fit(list(texts), [bool(label) for label in is_emergency])
        return cls(pipeline)

    def score(self, text: str) -> float:
        if not normalise(text):
            return 0.0
        return float(self._pipeline.predict_proba([text])[0][1])
