"""Full training time and peak memory of the model the assistant runs (config.yml, domain.yml, data/).

    python -m bench.training            # a full training, as `make run` does when data changed
    python -m bench.training --quick    # one epoch: proves the benchmark runs (used by the tests)

Trains into a temporary directory: the project's models/ is not touched.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bot.services import QUIET_ENV
from bot.settings import ROOT

TARGET_SECONDS = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = ROOT / "config.yml"
        if args.quick:
            data = yaml.safe_load(config.read_text(encoding="utf-8"))
            for component in data["pipeline"]:
                if component["name"] == "DIETClassifier":
                    component["epochs"] = 1
            config = Path(tmp) / "config.yml"
            config.write_text(yaml.safe_dump(data), encoding="utf-8")
        env = {**os.environ, **QUIET_ENV, "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "rasa", "train", "--config", str(config), "--domain", str(ROOT / "domain.yml"),
             "--data", str(ROOT / "data"), "--out", tmp, "--force", "--quiet"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.monotonic() - started
        if result.returncode != 0:
            sys.exit(f"training failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
        size = sum(p.stat().st_size for p in Path(tmp).glob("*.tar.gz"))
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    examples = sum(len(str(b.get("examples", "")).splitlines())
                   for f in (ROOT / "data" / "nlu").glob("*.yml")
                   for b in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("nlu", []))
    print(f"\nTraining ({'quick: 1 epoch' if args.quick else 'full'}), {examples} NLU examples, "
          f"{os.cpu_count()} cores:\n")
    print(f"{'seconds':>8}{'peak MiB':>10}{'model MiB':>11}")
    print(f"{seconds:>8.0f}{peak_mib:>10.0f}{size / 2**20:>11.1f}")
    met = seconds <= TARGET_SECONDS
    print(f"\ntarget <= {TARGET_SECONDS} s: {'MET' if met else 'NOT MET'}")
    sys.exit(0 if met or args.quick else 1)


if __name__ == "__main__":
    main()
