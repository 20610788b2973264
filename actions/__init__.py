"""The Rasa SDK action server: one action, ``action_answer``, answering every turn from locales/."""
