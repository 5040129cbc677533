"""The issue's hand-written baseline: an aiokafka `getmany` loop over the raw topic that decodes
with orjson, scores every mention with vaderSentiment, matches brand terms with pyahocorasick and
counts per-brand 1-minute windows in a dict. No validation, language, dedup, spikes or output.

It reads the same raw messages as the worker (batches of mentions), so the batching helps it too.
`run_hand_loop` starts it as a subprocess (its own core, its own peak RSS); the subprocess prints
one JSON line: mentions, seconds from the first fetched record to the last processed one, and
latency percentiles from each raw record's loading (or the first fetch, if later) to its processing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick ships no type stubs
import orjson
from aiokafka import AIOKafkaConsumer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.measure import PeakRss, Result, percentiles, vm_hwm
from brandmon.config import load_config
from brandmon.schemas import RAW_TOPIC

WINDOW_SECONDS = 60


def automaton(config_path: Path) -> ahocorasick.Automaton:
    """Every brand's name and aliases, casefolded, to the brand id."""
    matcher = ahocorasick.Automaton()
    for brand in load_config(config_path).brands:
        for term in {brand.name, *brand.aliases}:
            matcher.add_word(term.casefold(), brand.id)
    matcher.make_automaton()
    return matcher


async def hand_loop(bootstrap: str, config_path: Path, expected: int) -> dict[str, float | int | None]:
    matcher = automaton(config_path)
    vader = SentimentIntensityAnalyzer()
    windows: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0, 0.0])
    consumer = AIOKafkaConsumer(
        RAW_TOPIC,
        bootstrap_servers=bootstrap,
        group_id=f"bench-hand-loop-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    done = 0
    latencies: list[float] = []
    started: float | None = None
    began = cpu = 0.0
    try:
        while done < expected:
            fetched = await consumer.getmany(timeout_ms=200)
            if started is None and fetched:
                started, began, cpu = time.perf_counter(), time.time(), time.process_time()
            for records in fetched.values():
                for record in records:
                    mentions = orjson.loads(record.value)["mentions"]
                    for mention in mentions:
                        text = mention["text"]
                        compound = vader.polarity_scores(text)["compound"]
                        brands = {brand for _, brand in matcher.iter(text.casefold())}
                        created = datetime.fromisoformat(mention["created_at"]).timestamp()
                        window = int(created // WINDOW_SECONDS) * WINDOW_SECONDS
                        for brand in brands:
                            counts = windows[brand, window]
                            counts[0] += 1
                            counts[1] += compound
                    done += len(mentions)
                    latency = time.time() - max(record.timestamp / 1000, began)
                    latencies.extend([latency] * len(mentions))
        elapsed = time.perf_counter() - (started or time.perf_counter())
        cpu = time.process_time() - cpu
    finally:
        await consumer.stop()
    p50, p99 = percentiles(latencies)
    return {"mentions": done, "seconds": elapsed, "cpu": cpu, "p50": p50, "p99": p99, "windows": len(windows)}


def run_hand_loop(bootstrap: str, config_path: Path, expected: int, log: Path) -> Result:
    """The loop in a subprocess until it has processed `expected` mentions; its peak RSS polled."""
    command = [sys.executable, "-m", "bench.hand_loop", bootstrap, str(config_path), str(expected)]
    with log.open("wb") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        rss = PeakRss([process.pid])
        try:
            while process.poll() is None:
                rss.poll()
                time.sleep(0.1)
            peak = rss.peaks[process.pid]
        finally:
            if process.poll() is None:
                process.kill()
        output = process.stdout.read() if process.stdout else b""
    if process.returncode != 0:
        raise RuntimeError(f"hand loop exited with {process.returncode}; see {log}")
    result = orjson.loads(output.splitlines()[-1])
    return Result(
        "hand loop (getmany, orjson, VADER, Aho-Corasick, dict windows)",
        result["mentions"],
        result["mentions"] / result["seconds"],
        result["p50"],
        result["p99"],
        max(peak, result["peak_rss"]),
        f"1 process; cores used {result['cpu'] / result['seconds']:.2f}",
        result["mentions"] / result["cpu"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bootstrap")
    parser.add_argument("config", type=Path)
    parser.add_argument("expected", type=int, help="stop after this many mentions")
    args = parser.parse_args()
    result = asyncio.run(hand_loop(args.bootstrap, args.config, args.expected))
    result["peak_rss"] = vm_hwm(os.getpid()) or 0
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


if __name__ == "__main__":
    main()
