"""Custom NLU components for the one multilingual Rasa model: language detection and safety signals."""
