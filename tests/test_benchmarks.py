"""The benchmark commands run in their quick modes, so that they cannot rot. Their figures are not asserted here:
targets are measured by the full benchmarks (docs/benchmarks.md)."""
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("module, expect", [
    ("bench.accuracy", "Topic accuracy on"),
    ("bench.latency", "Reply latency"),
    ("bench.training", "Training (quick"),
    ("bench.gateway", "End-to-end latency"),
    ("bench.redaction_bench", "recall"),
    ("bench.relay", "Handoff relay latency"),
])
def test_benchmark_runs_in_quick_mode(model, module, expect):
    quick = [] if module == "bench.redaction_bench" else ["--quick"]
    result = subprocess.run([sys.executable, "-m", module, *quick], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expect in result.stdout
