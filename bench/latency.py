"""Reply latency through Rasa's REST channel and the action server, sequential, plus the processes' memory.

    python -m bench.latency            # 300 messages (held-out texts in all languages), after 20 warm-up
    python -m bench.latency --quick    # 20 messages: proves the benchmark runs (used by the tests)

Two runs: each message the first of a new conversation (a new tracker and a session start), and messages within
ongoing conversations (5 turns each, where Rasa re-reads a growing tracker).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from bench.accuracy import load_heldout
from bot.rasa_client import RasaClient, new_sender_id
from bot.services import Services
from bot.settings import Settings


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def memory_kib(pid: int) -> Dict[str, int]:
    """Resident and peak resident memory of a process and its children, from /proc (KiB)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


async def measure(rasa_url: str, texts: List[str], warmup: int, turns: int = 1) -> List[float]:
    """Latency of each message after the warm-up; ``turns`` messages share a conversation."""
    latencies = []
    sender = new_sender_id("bench")
    async with RasaClient(rasa_url, timeout=30) as client:
        for i, text in enumerate(texts):
            if i % turns == 0:
                sender = new_sender_id("bench")
            started = time.perf_counter()
            replies = await client.send(sender, text, {"channel": "sms"})
            elapsed = (time.perf_counter() - started) * 1000
            assert replies, "no reply"
            if i >= warmup:
                latencies.append(elapsed)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from bot.training import ensure_model

    settings = Settings.from_env()
    model = ensure_model(settings)
    count, warmup = (20, 5) if args.quick else (300, 20)
    texts = [text for _, text, _ in load_heldout()]
    texts = list(itertools.islice(itertools.cycle(texts), count + warmup))
    with tempfile.TemporaryDirectory() as logs, Services.on_free_ports(settings, model, Path(logs)) as services:
        runs = {"new conversation": asyncio.run(measure(services.settings.rasa_url, texts, warmup)),
                "5-turn conversations": asyncio.run(measure(services.settings.rasa_url, texts, warmup, turns=5))}
        memory = {name: memory_kib(pid) for name, pid in services.pids.items()}
    print(f"\nReply latency, sequential ({count} messages per run after {warmup} warm-up), "
          f"Rasa REST channel + action server on localhost:\n")
    print(f"{'run':<22}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'mean ms':>9}{'max ms':>8}")
    for name, latencies in runs.items():
        print(f"{name:<22}{percentile(latencies, 50):>8.1f}{percentile(latencies, 95):>8.1f}"
              f"{percentile(latencies, 99):>8.1f}{statistics.mean(latencies):>9.1f}{max(latencies):>8.1f}")
    p95 = max(percentile(latencies, 95) for latencies in runs.values())
    print(f"\n{'process':<10}{'RSS MiB':>9}{'peak MiB':>10}")
    for name, m in memory.items():
        print(f"{name:<10}{m.get('VmRSS', 0) / 1024:>9.0f}{m.get('VmHWM', 0) / 1024:>10.0f}")
    print(f"\ntarget p95 <= 100 ms: {'MET' if p95 <= 100 else 'NOT MET'}")
    sys.exit(0 if p95 <= 100 or args.quick else 1)


if __name__ == "__main__":
    main()
