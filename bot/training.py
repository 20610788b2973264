"""Train the Rasa model only when what it learns from has changed.

The model's name is a hash of everything training reads: config.yml, domain.yml, data/, the custom NLU
components and the language profiles. A second start with nothing changed finds models/<hash>.tar.gz and trains
nothing.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Iterable, List, Optional

from bot.settings import ROOT, Settings

logger = logging.getLogger(__name__)

MODEL_PREFIX = "assistant-"


def training_inputs(root: Path = ROOT) -> List[Path]:
    """Every file whose content can change the trained model, in a stable order."""
    files = [root / "config.yml", root / "domain.yml"]
    files += sorted((root / "data").rglob("*.yml"))
    files += sorted((root / "bot" / "nlu").glob("*.py"))
    files += [root / "bot" / "languages.py"]
    files += sorted((root / "locales").glob("*/_language.yml")) + [root / "locales" / "languages.yml"]
    return files


def fingerprint(files: Iterable[Path], root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    return settings.models_dir / f"{MODEL_PREFIX}{fingerprint(training_inputs())}.tar.gz"


def latest_model(settings: Settings) -> Optional[Path]:
    """The model for the current inputs if trained, else the newest one trained (None when there is none)."""
    target = model_path(settings)
    if target.exists():
        return target
    trained = sorted(settings.models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return trained[-1] if trained else None


def ensure_model(settings: Settings, force: bool = False) -> Path:
    """The trained model for the current inputs, training it first if there is none."""
    target = model_path(settings)
    if target.exists() and not force:
        logger.info("model up to date: %s (nothing to train)", target.name)
        return target
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    logger.info("training %s (config, domain, data or NLU components changed)", target.name)
    started = time.monotonic()
    train(settings.models_dir, target.name[: -len(".tar.gz")])
    logger.info("trained in %.0f s", time.monotonic() - started)
    for old in settings.models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def train(output_dir: Path, name: str) -> Path:
    """Run Rasa's training from the project root (the custom components resolve paths against it)."""
    os.chdir(ROOT)
    from rasa.model_training import train as rasa_train

    result = rasa_train(
        domain=str(ROOT / "domain.yml"),
        config=str(ROOT / "config.yml"),
        training_files=[str(ROOT / "data")],
        output=str(output_dir),
        fixed_model_name=name,
        force_training=True,
    )
    if result.code != 0 or not result.model:
        raise RuntimeError(f"Rasa training failed (exit code {result.code}); run `rasa data validate` for details.")
    return Path(result.model)
