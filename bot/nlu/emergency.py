"""A second, independent emergency detector: emergency against everything else, on tf-idf character and word
n-grams, with balanced class weights.

Why a second model: recall of emergencies must be 100%, and one classifier's probability moves with every
retraining (a message about being locked in and having the phone taken can drift towards "privacy"). The safety
component treats a message as an emergency when DIET *or* this detector says so; with balanced weights 0.5 is
its natural decision boundary, not a value tuned on the evaluation set. Figures: docs/benchmarks.md.
"""
from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from typing import Iterable

from bot.languages import normalise

#: with balanced class weights, 0.5 is the model's natural boundary: the safety component and the gateway use it
THRESHOLD = 0.5
#: the detector reads at most this much of a message: a danger sentence is short, and work stays bounded
MAX_CHARS = 1000
#: where the trained detector sits inside a Rasa model archive (bot.nlu.components saves it under this name)
ARCHIVE_FILE = "emergency_detector.pkl"


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
        text = text[:MAX_CHARS]
        if not normalise(text):
            return 0.0
        return float(self._pipeline.predict_proba([text])[0][1])

    def flags(self, text: str) -> bool:
        return self.score(text) >= THRESHOLD


def load_from_model(model: Path) -> EmergencyDetector:
    """The detector trained with a Rasa model, read from its archive (the gateway uses it without Rasa: a message
    over the rate limit that it flags still goes through). Raises FileNotFoundError when the archive has none."""
    with tarfile.open(model, "r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.endswith("/" + ARCHIVE_FILE) and "EmergencyDetector" in member.name:
                handle = archive.extractfile(member)
                if handle is not None:
                    # our own model archive, written by bot.nlu.components at training time (as Rasa loads it)
                    return pickle.load(io.BytesIO(handle.read()))
    raise FileNotFoundError(f"{model}: no {ARCHIVE_FILE} in this model; retrain it (python -m bot train)")
