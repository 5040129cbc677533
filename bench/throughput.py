"""Issue 8's benchmark: brandmon workers against the hand-written loop, same input, same command.

Run: `python -m bench.throughput` (about 8 minutes on 2 cores; `--mentions 50000` for a quick
look; `--skip-two-workers`, `--skip-latency`, `--skip-burst` leave parts out; `--profile FILE`
records the one-worker run with py-spy, installed apart: `.venv/bin/pip install py-spy`).

1. A seeded corpus of simulated posts (demo brands, the simulator's reshare and reply rates) is
   published once through `MentionPublisher` into an embedded broker: batches of up to 500
   mentions per raw message, as connectors do, and read back (partitions, offsets, timestamps).
2. The hand loop (`bench.hand_loop`: aiokafka `getmany`, orjson, vaderSentiment, pyahocorasick,
   dict windows; no validation, language, dedup, spikes or output) reads that topic in a process
   of its own.
3. One `brandmon worker` (validation, dedup, language, boolean queries, sentiment, windows with
   changelog, spike and rumour detection with the demo's 10 s buckets, metrics) reads the same
   topic. Rate = mentions scored between its first and last scored record (Kafka timestamps);
   completion is read from its /metrics (processed offsets), once a second.
4. Two workers (one group, 2 of the 4 partitions each) on a fresh broker: they form their group
   on a trickle of other mentions, then the same messages are written again. Total rate.
5. Live runs (`bench.latency`): steady 2,000 mentions/s -> scored latency; burst -> alert.

Latency in the backlog rows runs from when processing began (or the raw message was loaded, if
later) to the scored record (hand loop: to processed): time queued behind the backlog, so p50 is
about half the drain time. It is not live latency; the steady row is. Peak RSS is the kernel's
high-water mark (VmHWM) or the largest psutil sample. The broker and the bench share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.corpus import Corpus, load, replay, simulated
from bench.hand_loop import run_hand_loop
from bench.latency import burst_to_alert, steady_latency
from bench.measure import Result, mib, percentiles, seconds
from bench.profile_summary import table as profile_table
from bench.worker_runs import WorkerRun, Workers, run_workers, wait_for_assignment
from brandmon.broker import EmbeddedBroker
from brandmon.settings import Settings

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "brandmon" / "demo.yaml"


def pid(broker: EmbeddedBroker) -> int | None:
    process = broker._process  # for its CPU use; EmbeddedBroker has no public pid
    return process.pid if process is not None else None


def worker_result(name: str, run: WorkerRun, note: str) -> Result:
    p50, p99 = percentiles(run.latencies)
    sentiment = f"English sentiment: {run.english_differing} of {run.english_checked} differ from VADER"
    note = f"{note}; {run.cores_note()}; {sentiment}"
    worker_cores = sum(on for name, (on, _) in run.cores.items() if name.startswith("worker"))
    per_cpu = run.rate / worker_cores if worker_cores else None
    return Result(name, run.mentions, run.rate, p50, p99, max(run.peak_rss), note, per_cpu)


async def backlog_runs(args: argparse.Namespace, data_root: Path) -> list[Result]:
    mentions = simulated(args.mentions, args.config, end=datetime.now(UTC) - timedelta(minutes=1))
    chars = sum(len(m.text) for m in mentions) / len(mentions)
    print(f"corpus: {len(mentions):,} simulated mentions, mean text {chars:.0f} chars, {args.config.name}")
    broker = EmbeddedBroker().start()
    settings = Settings(kafka_bootstrap=broker.bootstrap, data_dir=data_root)
    try:
        corpus = await load(settings, broker.bootstrap, mentions)
        del mentions
        print(f"loaded: {len(corpus.messages)} raw messages on {len(corpus.partitions)} partitions")
        hand = run_hand_loop(broker.bootstrap, args.config, corpus.mentions, data_root / "hand-loop.log")
        print(f"hand loop: {hand.rate:,.0f} mentions/s")
        root = data_root / "one"
        one = await run_workers(
            settings, broker.bootstrap, args.config, root, 1, corpus, args.profile, pid(broker)
        )
        print(f"one worker: {one.rate:,.0f} mentions/s")
    finally:
        broker.stop()
    results = [
        hand,
        worker_result("brandmon, 1 worker (every feature)", one, f"{one.scored:,} scored records"),
    ]
    if not args.skip_two_workers:
        name = "brandmon, 2 workers, 2 processes"
        try:
            two = await two_workers(args, data_root / "two", corpus)
        except Exception as error:  # a failed scenario must not lose the others' numbers
            results.append(failed(name, error))
            return results
        print(f"two workers: {two.rate:,.0f} mentions/s")
        rss = " / ".join(mib(r) for r in two.peak_rss)
        note = f"x{two.rate / one.rate:.2f} one worker; RSS per worker {rss}"
        results.append(worker_result(name, two, note))
    return results


def failed(name: str, error: Exception) -> Result:
    print(f"{name}: FAILED {error!r}")
    return Result(name, 0, note=f"FAILED: {type(error).__name__}: {error}"[:300])


async def guarded(name: str, run: Awaitable[Result]) -> Result:
    try:
        return await run
    except Exception as error:  # a failed scenario must not lose the others' numbers
        return failed(name, error)


async def two_workers(args: argparse.Namespace, data_root: Path, corpus: Corpus) -> WorkerRun:
    broker = EmbeddedBroker().start()
    settings = Settings(kafka_bootstrap=broker.bootstrap, data_dir=data_root)
    before = corpus.first_created() - timedelta(minutes=5)  # the warm-up must not move watermarks
    warm_up = simulated(4000, args.config, seed=12, end=before)

    async def load_when_formed(workers: Workers) -> Corpus:
        await wait_for_assignment(workers, settings, broker.bootstrap, warm_up, corpus.partitions)
        workers.cpu.start()
        return await replay(settings, broker.bootstrap, corpus)

    try:
        return await run_workers(
            settings, broker.bootstrap, args.config, data_root, 2, load_when_formed, broker_pid=pid(broker)
        )
    finally:
        broker.stop()


def results_table(results: list[Result]) -> Table:
    hand, hand_cpu = results[0].rate or 1.0, results[0].per_cpu or 1.0
    table = Table(title="brandmon throughput and latency (issue 8)", show_lines=True)
    columns = ("scenario", "mentions", "mentions/s", "vs hand loop", "per CPU-s", "vs hand loop (CPU)")
    for column in (*columns, "p50", "p99", "peak RSS", "notes"):
        table.add_column(column, justify="left" if column in ("scenario", "notes") else "right")
    for r in results:
        backlog = not r.scenario.startswith(("steady", "burst"))
        table.add_row(
            r.scenario,
            f"{r.mentions:,}",
            f"{r.rate:,.0f}" if r.rate is not None else "-",
            f"{r.rate / hand:.2f}" if backlog and r.rate is not None else "-",
            f"{r.per_cpu:,.0f}" if r.per_cpu is not None else "-",
            f"{r.per_cpu / hand_cpu:.2f}" if backlog and r.per_cpu is not None else "-",
            seconds(r.p50),
            seconds(r.p99),
            mib(r.peak_rss),
            r.note,
        )
    return table


async def run(args: argparse.Namespace) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    data_root = Path(tempfile.mkdtemp(prefix="brandmon-throughput-"))
    print(f"logs and worker data under {data_root}")
    results = await backlog_runs(args, data_root)
    if not args.skip_latency:
        steady = steady_latency(args.config, data_root / "steady", rate=args.rate, seconds=args.seconds)
        results.append(await guarded("steady latency", steady))
        print(f"steady: p50 {seconds(results[-1].p50)}, p99 {seconds(results[-1].p99)}")
    if not args.skip_burst:
        burst = burst_to_alert(args.config, data_root / "burst", live_before=60.0, phase=args.phase)
        results.append(await guarded("burst -> alert", burst))
        print(f"burst: {results[-1].note}")
    console.print(results_table(results))
    console.print(
        "Backlog rows: latency = processing began (or message loaded, if later) -> scored record (hand "
        "loop: -> processed), i.e. time queued behind the backlog. Steady row: created_at (set when "
        "published) -> scored record's Kafka timestamp. Burst row: p50 column = burst start -> alert. "
        "per CPU-s: mentions per CPU second of the loop or the workers (not the broker), the rate on a "
        "core of their own whatever else runs on the machine."
    )
    if args.profile is not None:
        console.print(profile_table(args.profile))
        console.print(f"py-spy raw profile of the one-worker run: {args.profile} (its rate is under py-spy)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=200_000, help="corpus size (default 200,000)")
    parser.add_argument("--config", type=Path, default=DEMO_CONFIG, help="brand config (default: demo)")
    parser.add_argument("--skip-two-workers", action="store_true")
    parser.add_argument("--skip-latency", action="store_true", help="no steady-rate latency run")
    parser.add_argument("--skip-burst", action="store_true", help="no burst -> alert run")
    parser.add_argument("--rate", type=float, default=2000.0, help="steady run: mentions/s (2,000)")
    parser.add_argument("--seconds", type=float, default=45.0, help="steady run: duration (45 s)")
    parser.add_argument("--phase", type=float, default=0.5, help="burst start within its bucket, 0-1 (0.5)")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy the one-worker run into this raw file and summarise it",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
