"""`brandmon score` as users run it: JSON lines in, one JSON line out per mention or error."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tests.conftest import REPO, SHARED, TEST_CONFIG

VADER_REVIEWS = SHARED / "datasets" / "vader-reviews"


@pytest.fixture
def score_config(tmp_path: Path) -> Path:
    path = tmp_path / "score-brands.yaml"
    path.write_text(TEST_CONFIG)
    return path


def start_score(config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANDMON_")}
    return subprocess.Popen(
        [sys.executable, "-m", "brandmon.cli", "score", "--config", str(config)],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes], lines: list[bytes]) -> list[dict[str, Any]]:
    stdout, stderr = process.communicate(b"".join(line + b"\n" for line in lines), timeout=120)
    assert process.returncode == 0, stderr.decode()
    return [orjson.loads(line) for line in stdout.splitlines()]


def mention(native_id: str, text: str, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": f"replay:{native_id}",
        "source": "replay",
        "text": text,
        "lang_declared": "en",
        "created_at": "2024-05-01T12:00:00Z",
        "fetched_at": "2024-05-01T12:00:01Z",
    }
    value.update(overrides)
    return value


@pytest.mark.shared
def test_scores_equal_vader_on_its_ground_truth(score_config: Path) -> None:
    files = sorted(VADER_REVIEWS.glob("*_GroundTruth.txt"))
    if len(files) != 3:
        pytest.skip(
            f"../shared/datasets/vader-reviews not found: {VADER_REVIEWS} has {len(files)} of 3 files"
        )
    lines: list[bytes] = []
    texts: list[tuple[str, str]] = []
    for path in files:
        with path.open(encoding="utf-8", newline="") as rows:
            for row in rows:
                row_id, _rating, text = row.rstrip("\r\n").split("\t", 2)
                native_id = f"{path.stem}/{row_id}"
                lines.append(orjson.dumps(mention(native_id, text)))
                texts.append((f"replay:{native_id}", text))
    assert len(texts) > 19_000

    with ThreadPoolExecutor(max_workers=1) as pool:  # the command scores while this process does
        running = pool.submit(finish, start_score(score_config), lines)
        analyzer = SentimentIntensityAnalyzer()
        expected = [(mention_id, text, analyzer.polarity_scores(text)) for mention_id, text in texts]
        outputs = running.result()
    assert len(outputs) == len(expected)
    mismatches, other_languages = [], []
    for output, (mention_id, text, scores) in zip(outputs, expected, strict=True):
        assert output["id"] == mention_id, output
        if output["lang"] != "en":
            other_languages.append((output["lang"], text))
            continue
        sentiment = output["sentiment"]
        assert sentiment["model"] == "vaderSentiment"
        got = {key: sentiment[key] for key in ("compound", "pos", "neu", "neg")}
        if got != {key: scores[key] for key in ("compound", "pos", "neu", "neg")}:
            mismatches.append((mention_id, text, got, scores))
    assert mismatches == [], f"{len(mismatches)} differ from vaderSentiment, first: {mismatches[:3]}"
    assert len(other_languages) <= len(outputs) // 100, (
        f"English snippets detected as: {other_languages[:20]}"
    )


def test_bad_lines_yield_errors_and_good_lines_still_score(score_config: Path) -> None:
    missing_text = mention("2", "unused")
    del missing_text["text"]
    lines = [
        orjson.dumps(mention("1", "I love Acme Corp, the best anvils ever!")),
        b'{"id": "replay:x", "text": ',
        orjson.dumps(missing_text),
        orjson.dumps(mention("3", "Globex und Acme sind nicht gut", lang_declared="de")),
        b"",
        b"[1, 2]",
        orjson.dumps({"mentions": [mention("4", "#globex is awful"), 7, mention("5", "nothing to see")]}),
        orjson.dumps(mention("6", "bad", created_at="2024-05-01T12:00:00")),
        b'{"id": "\xff"}',
        orjson.dumps(mention("7", "acme is fine")),
        orjson.dumps(mention("8", "acme", created_at="0001-01-01T00:00:00+01:00")),  # no UTC equivalent
        orjson.dumps(mention("9", "still scoring")),
    ]
    outputs = finish(start_score(score_config), lines)
    analyzer = SentimentIntensityAnalyzer()

    def error(line: int, reason: str, index: int | None = None) -> dict[str, Any]:
        found = [o for o in outputs if o.get("line") == line]
        assert len(found) == 1, outputs
        assert found[0]["error"]["reason"] == reason
        assert found[0]["error"]["detail"]
        assert found[0]["error"]["index"] == index
        return found[0]

    def scored(native_id: str) -> dict[str, Any]:
        found = [o for o in outputs if o.get("id") == f"replay:{native_id}"]
        assert len(found) == 1, outputs
        return found[0]

    assert [o.get("id") or o["line"] for o in outputs] == [
        "replay:1",
        2,
        3,
        "replay:3",
        6,
        7,  # a line's errors come before its mentions
        "replay:4",
        "replay:5",
        8,
        9,
        "replay:7",
        11,
        "replay:9",
    ]
    error(2, "invalid_json")
    assert "text" in error(3, "missing_field")["error"]["detail"]
    error(6, "not_an_object")
    error(7, "not_an_object", index=1)
    error(8, "invalid_field")
    error(9, "invalid_utf8")
    error(11, "invalid_field")

    first = scored("1")
    assert first["brands"] == {"acme": ["acme corp"]}
    assert first["lang"] == "en"
    expected = analyzer.polarity_scores("I love Acme Corp, the best anvils ever!")
    assert {k: first["sentiment"][k] for k in ("compound", "pos", "neu", "neg")} == expected
    assert first["sentiment"]["label"] == "positive"

    german = scored("3")
    assert german["lang"] == "de"
    assert german["sentiment"]["model"] == "brandmon-lexicon-de"
    assert german["sentiment"]["label"] == "negative"
    assert german["brands"] == {"globex": ["globex"], "acme": ["acme"]}

    assert scored("4")["brands"] == {"globex": ["#globex"]}
    assert scored("5")["brands"] == {}  # scored even without a brand
    assert scored("5")["sentiment"]["model"] == "vaderSentiment"
    assert scored("7")["brands"] == {"acme": ["acme"]}
