"""Handoff to human advocates (issue 9): model, advocates' registry, case records; the relay joins the pipeline."""
