"""How early, and how much of a rumour thread, brandmon's rumour signals flag on RumourEval 2017.

Run: `python -m bench.rumour_signals` (`--datasets DIR` or BRANDMON_DATASETS=DIR to point elsewhere).

Reads `../shared/datasets/rumoureval2017` in place (SemEval-2017 Task 8, PHEME Twitter threads;
nothing is copied into the project; skips with a message if it is absent) and runs
`streams.rumour_signals.rumour_signals` on every post. A thread is a source tweet (the root of
`structures.json`) and its replies (every other post of the tree found in `posts.json`; tree ids
without a post, deleted tweets, are left out). Printed for both splits together and per split:

1. per reply (source posts excluded), precision / recall / F1 of `enquiry` against the human stance
   `query`, of `correction` against `deny` and of either against query-or-deny, with the counts,
   and the human stance of the replies each signal flags;
2. timing: per thread, minutes from the source tweet to the first reply the signals flag
   (enquiry or correction), to the first reply humans labelled query or deny, and to the first
   reply both agree on; median and p25/p75/p90 over the threads that have one, and the share of
   all threads with one within 15, 30 and 60 minutes; for all threads, veracity false-or-unverified
   and veracity true;
3. coverage: per thread, the share of replies flagged (mean and median over threads with a reply),
   the share of threads with at least one flagged reply, and the share whose (enquiries +
   corrections) / replies reaches the alert's RUMOUR_SHARE, by veracity label, next to the same
   for the human query/deny labels;

then the 15 most frequent query and deny replies the signals miss (leading @mentions and links
removed, repeated ?/!/. collapsed; truncated to 100 characters) and their commonest two-word openings.

Caveats: the tweets are English only, so the German and Danish patterns are not exercised here.
The SDQC labels are each reply's stance towards the source's claim, a broader notion than the
signals' "is it true / that is not true" phrasings (a deny may be an argument or an insult, a query
any question to the author), so part of the low recall is the labels' breadth, not a missed phrasing. The
threads are reply trees collected around rumours, not the keyword-matched stream a brand alert
sees, so coverage is not the alert's rumour share.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.datasets import find_datasets
from streams.alert_explanation import RUMOUR_SHARE
from streams.rumour_signals import rumour_signals

SPLITS = ("traindev", "test")
WITHIN_MINUTES = (15, 30, 60)
MISSED_SHOWN = 15
TRUNCATE = 100
_MENTIONS = re.compile(r"^(?:\s*\.?@\w+[:,]?)+\s*")
_LINKS = re.compile(r"https?://\S+")
_REPEATS = re.compile(r"([?!.])\1+")


@dataclass(frozen=True, slots=True)
class Reply:
    minutes: float
    stance: str
    enquiry: bool
    correction: bool
    text: str

    @property
    def flagged(self) -> bool:
        return self.enquiry or self.correction

    @property
    def questioned(self) -> bool:
        return self.stance in ("query", "deny")


@dataclass(frozen=True, slots=True)
class Thread:
    split: str
    thread_id: str
    veracity: str
    replies: tuple[Reply, ...]
    missing: int


def categories(path: Path) -> dict[str, str]:
    """`{"name": id}` from a category json, as `{str(id): name}`."""
    return {str(number): name for name, number in json.loads(path.read_text(encoding="utf-8")).items()}


def tree_ids(node: Any) -> Iterator[str]:
    """Every post id of a nested `{id: {child: ...} | []}` reply tree, depth first."""
    if isinstance(node, dict):
        for key, children in node.items():
            yield str(key)
            yield from tree_ids(children)
    elif isinstance(node, list):
        for child in node:
            yield from tree_ids(child)


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split()


def load_split(folder: Path, split: str, stances: dict[str, str], veracities: dict[str, str]) -> list[Thread]:
    posts: dict[str, Any] = json.loads((folder / "posts.json").read_text(encoding="utf-8"))
    structures: dict[str, Any] = json.loads((folder / "structures.json").read_text(encoding="utf-8"))
    stance = dict(zip(read_lines(folder / "post_id.txt"), read_lines(folder / "post_label.txt"), strict=True))
    veracity = dict(
        zip(read_lines(folder / "thread_id.txt"), read_lines(folder / "thread_label.txt"), strict=True)
    )
    threads = []
    for thread_id, label in veracity.items():
        start = float(posts[thread_id]["time"])
        replies, missing = [], 0
        for post_id in tree_ids(structures[thread_id]):
            if post_id == thread_id:
                continue
            if post_id not in posts:
                missing += 1
                continue
            text = str(posts[post_id]["text"])
            signals = rumour_signals(text)
            minutes = (float(posts[post_id]["time"]) - start) / 60.0
            human = stances[stance[post_id]]
            replies.append(Reply(minutes, human, signals.enquiry, signals.correction, text))
        threads.append(Thread(split, thread_id, veracities[label], tuple(replies), missing))
    return threads


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(part: float, whole: float) -> float:
    return part / whole if whole else math.nan


def agreement_section(scopes: dict[str, list[Thread]]) -> None:
    print("1. Per-reply agreement with the human SDQC stance (source tweets excluded)")
    print(
        f"  {'scope':<10}{'signal -> human stance':<30}{'replies':>8}{'human':>7}{'flagged':>8}"
        f"{'TP':>6}{'FP':>6}{'FN':>6}{'precision':>10}{'recall':>8}{'F1':>7}"
    )
    checks: tuple[tuple[str, Callable[[Reply], bool], Callable[[Reply], bool]], ...] = (
        ("enquiry -> query", lambda r: r.enquiry, lambda r: r.stance == "query"),
        ("correction -> deny", lambda r: r.correction, lambda r: r.stance == "deny"),
        ("either -> query or deny", lambda r: r.flagged, lambda r: r.questioned),
    )
    for scope, threads in scopes.items():
        replies = [reply for thread in threads for reply in thread.replies]
        for name, predicted, gold in checks:
            tp = sum(1 for r in replies if predicted(r) and gold(r))
            fp = sum(1 for r in replies if predicted(r) and not gold(r))
            fn = sum(1 for r in replies if gold(r) and not predicted(r))
            precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
            f1 = ratio(2 * tp, 2 * tp + fp + fn)
            print(
                f"  {scope:<10}{name:<30}{len(replies):>8}{tp + fn:>7}{tp + fp:>8}{tp:>6}{fp:>6}{fn:>6}"
                f"{precision:>10.3f}{recall:>8.3f}{f1:>7.3f}"
            )
    print("  human stance of the flagged replies (all splits):")
    replies = [reply for thread in scopes["all"] for reply in thread.replies]
    for name, predicted in (("enquiry", lambda r: r.enquiry), ("correction", lambda r: r.correction)):
        counts = Counter(r.stance for r in replies if predicted(r))
        shown = "  ".join(f"{stance} {counts[stance]}" for stance in ("support", "query", "deny", "comment"))
        print(f"    {name:<11} {shown}")
    base = Counter(r.stance for r in replies)
    shown = "  ".join(f"{stance} {base[stance]}" for stance in ("support", "query", "deny", "comment"))
    print(f"    {'all replies':<11} {shown}")


def first_minutes(thread: Thread, chosen: Callable[[Reply], bool]) -> float | None:
    return min((r.minutes for r in thread.replies if chosen(r)), default=None)


def timing_section(scopes: dict[str, list[Thread]]) -> None:
    print("\n2. Minutes from the source tweet to the first such reply (quantiles over threads that have one;")
    print("   'within' = share of all the group's threads with one by then)")
    within = "".join(f"{f'<={m}m':>7}" for m in WITHIN_MINUTES)
    print(
        f"  {'scope':<10}{'veracity':<20}{'first reply':<26}{'threads':>8}{'with one':>9}"
        f"{'median':>8}{'p25':>7}{'p75':>7}{'p90':>8}{within}"
    )
    groups: tuple[tuple[str, Callable[[Thread], bool]], ...] = (
        ("all", lambda t: True),
        ("false or unverified", lambda t: t.veracity in ("false", "unverified")),
        ("true", lambda t: t.veracity == "true"),
    )
    firsts: tuple[tuple[str, Callable[[Reply], bool]], ...] = (
        ("signals: enq. or corr.", lambda r: r.flagged),
        ("humans: query or deny", lambda r: r.questioned),
        ("both agree", lambda r: r.flagged and r.questioned),
    )
    for scope, threads in scopes.items():
        for group, member in groups:
            chosen = [t for t in threads if member(t)]
            for name, flagged in firsts:
                times = [m for t in chosen if (m := first_minutes(t, flagged)) is not None]
                shares = "".join(
                    f"{ratio(sum(1 for m in times if m <= limit), len(chosen)):>7.0%}"
                    for limit in WITHIN_MINUTES
                )
                if times:
                    quantiles = (
                        f"{statistics.median(times):>8.1f}{percentile(times, 0.25):>7.1f}"
                        f"{percentile(times, 0.75):>7.1f}{percentile(times, 0.90):>8.1f}"
                    )
                else:
                    quantiles = f"{'-':>8}{'-':>7}{'-':>7}{'-':>8}"
                print(f"  {scope:<10}{group:<20}{name:<26}{len(chosen):>8}{len(times):>9}{quantiles}{shares}")


def signal_count(reply: Reply) -> int:
    """What a reply adds to the alert's (enquiries + corrections)."""
    return int(reply.enquiry) + int(reply.correction)


def human_count(reply: Reply) -> int:
    return int(reply.questioned)


def coverage_row(threads: Sequence[Thread], flagged: Callable[[Reply], int]) -> str:
    """Mean and median share of replies flagged, share of threads with >= 1, share >= RUMOUR_SHARE."""
    shares = [sum(flagged(r) for r in t.replies) / len(t.replies) for t in threads if t.replies]
    if not shares:
        return f"{'-':>7}{'-':>7}{'-':>7}{'-':>7}"
    any_flagged = sum(1 for t in threads if any(flagged(r) for r in t.replies))
    over = sum(1 for share in shares if share >= RUMOUR_SHARE)
    return (
        f"{statistics.fmean(shares):>7.1%}{statistics.median(shares):>7.1%}"
        f"{ratio(any_flagged, len(threads)):>7.0%}{ratio(over, len(threads)):>7.0%}"
    )


def coverage_section(scopes: dict[str, list[Thread]]) -> None:
    print("\n3. Coverage of each thread's replies: mean / median share of a thread's replies flagged,")
    print("   share of threads with >= 1 flagged reply, share with (enquiries + corrections) / replies")
    print(f"   >= RUMOUR_SHARE ({RUMOUR_SHARE:.0%}; a reply with both counts twice, as in the alert);")
    print("   humans: the same with query / deny")
    head = f"{'mean':>7}{'median':>7}{'>=1':>7}{f'>={RUMOUR_SHARE:.0%}':>7}"
    print(f"  {'scope':<10}{'veracity':<12}{'threads':>8}{'replies':>8}   signals{head}   humans{head}")
    for scope, threads in scopes.items():
        for veracity in ("true", "false", "unverified", "all"):
            chosen = [t for t in threads if veracity in ("all", t.veracity)]
            replies = sum(len(t.replies) for t in chosen)
            print(
                f"  {scope:<10}{veracity:<12}{len(chosen):>8}{replies:>8}   {'':>7}"
                f"{coverage_row(chosen, signal_count)}   {'':>6}{coverage_row(chosen, human_count)}"
            )


def bare(text: str) -> str:
    """A reply without its leading @mentions and links, "??"/"!!"/".." and whitespace runs collapsed,
    casefolded."""
    text = _REPEATS.sub(r"\1", _LINKS.sub(" ", _MENTIONS.sub("", text)))
    return " ".join(text.split()).casefold()


def missed_section(threads: Sequence[Thread]) -> None:
    print("\nMost frequent query / deny replies the signals miss (all splits; leading @mentions and links")
    print("removed, repeated ?/!/. collapsed, casefolded; ties shortest first, then alphabetical;")
    print(f"truncated to {TRUNCATE} characters)")
    replies = [reply for thread in threads for reply in thread.replies]
    checks: tuple[tuple[str, str, Callable[[Reply], bool]], ...] = (
        ("query", "enquiry", lambda r: r.enquiry),
        ("deny", "correction", lambda r: r.correction),
    )
    for stance, signal, hit in checks:
        missed = [bare(r.text) for r in replies if r.stance == stance and not hit(r)]
        total = sum(1 for r in replies if r.stance == stance)
        with_mark = sum(1 for text in missed if "?" in text)
        empty = sum(1 for text in missed if not text)
        print(
            f"  {stance}: {len(missed)} of {total} missed by `{signal}` ({with_mark} of them contain '?', "
            f"{empty} are only @mentions / links)"
        )
        ranked = sorted(Counter(t for t in missed if t).items(), key=lambda i: (-i[1], len(i[0]), i[0]))
        for text, count in ranked[:MISSED_SHOWN]:
            print(f"    {count:>3}  {text[:TRUNCATE]}")
        openings = Counter(" ".join(re.findall(r"[\w']+|\?", text)[:2]) for text in missed if text)
        common = ", ".join(f"{opening!r} {count}" for opening, count in openings.most_common(MISSED_SHOWN))
        print(f"    commonest two-word openings: {common}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--datasets", type=Path, default=None, help="the shared datasets folder")
    args = parser.parse_args(argv)
    root = find_datasets(args.datasets)
    folder = root / "rumoureval2017" if root is not None else None
    if folder is None or not all((folder / split / "posts.json").is_file() for split in SPLITS):
        print(f"[skip] rumoureval2017 not found ({folder or '../shared/datasets not found'}); "
              "pass --datasets DIR or set BRANDMON_DATASETS")  # fmt: skip
        return
    stances = categories(folder / "stanceCategory.json")
    veracities = categories(folder / "rumorCategory.json")
    by_split = {split: load_split(folder / split, split, stances, veracities) for split in SPLITS}
    scopes = {"all": [t for threads in by_split.values() for t in threads], **by_split}
    print(f"RumourEval 2017 ({folder}), brandmon rumour signals (English tweets only)")
    for scope, threads in scopes.items():
        replies = sum(len(t.replies) for t in threads)
        missing = sum(t.missing for t in threads)
        veracity = Counter(t.veracity for t in threads)
        print(
            f"  {scope:<10}{len(threads):>4} threads ({veracity['true']} true, {veracity['false']} false, "
            f"{veracity['unverified']} unverified), {replies} replies "
            f"({missing} reply ids without a post skipped)"
        )
    print()
    agreement_section(scopes)
    timing_section(scopes)
    coverage_section(scopes)
    missed_section(scopes["all"])


if __name__ == "__main__":
    main()
