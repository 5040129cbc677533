"""The message contract between connectors, the stream and downstream consumers.

Every Kafka value brandmon writes or reads is described here, once. The JSON Schema files in
`schemas/` are generated from these models (`brandmon schemas --write`) and a test keeps them
in sync. A breaking change gets a new topic with a `.v2` suffix; additive optional fields do not.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

RAW_TOPIC = "brandmon.mentions.raw.v1"
SCORED_TOPIC = "brandmon.mentions.scored.v1"
DLQ_TOPIC = "brandmon.mentions.dlq.v1"
ALERTS_TOPIC = "brandmon.alerts.v1"

MAX_MESSAGE_BYTES = 256 * 1024
MAX_COUNT = 2**63 - 1
"""Counts beyond a signed 64-bit integer cannot be written by orjson (or read by most consumers)."""
"""Raw messages larger than this are dead-lettered unread (the embedded broker accepts 2 MB)."""

DLQ_MAX_ORIGINAL_BYTES = 512 * 1024
"""Dead letters keep the original up to this size, so they stay under Kafka's default 1 MB limit."""

SOURCE_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"
MENTION_ID = r"^[a-z0-9][a-z0-9_-]{0,31}:[\x21-\x7e]{1,512}$"
"""`source:native_id`, printable ASCII only: ids become dedup keys and must not carry control,
bidi or zero-width characters. Connectors percent-encode anything else."""


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC equivalent
        raise ValueError("the time has no UTC equivalent") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=MAX_MESSAGE_BYTES)


class Author(_Model):
    id: str | None = Field(default=None, max_length=512)
    handle: str | None = Field(default=None, max_length=512)
    followers: int | None = Field(
        default=None, ge=0, le=MAX_COUNT, description="Follower count when the platform reports it."
    )


class Engagement(_Model):
    likes: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    reshares: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    replies: int | None = Field(default=None, ge=0, le=MAX_COUNT)


class Mention(_Model):
    """One public post, comment or article that may mention a brand."""

    id: str = Field(pattern=MENTION_ID, description="Stable id `source:native_id`; dedup key.")
    source: str = Field(pattern=SOURCE_NAME, description="Connector kind, e.g. `mastodon`, `rss`.")
    url: str | None = Field(default=None, max_length=4096)
    author: Author = Field(default_factory=Author)
    text: str
    lang_declared: str | None = Field(
        default=None, max_length=35, description="Language the platform declared (BCP 47), if any."
    )
    created_at: UtcDatetime = Field(description="Event time: when the post was published (UTC).")
    fetched_at: UtcDatetime = Field(description="When the connector read it (UTC).")
    reshare_of: str | None = Field(default=None, max_length=530, description="Id of the reshared post.")
    reply_to: str | None = Field(default=None, max_length=530, description="Id of the parent post.")
    engagement: Engagement = Field(default_factory=Engagement)
    edited_at: UtcDatetime | None = Field(
        default=None,
        description="Set on an edit: the same id with new text. The newest `edited_at` wins downstream.",
    )


class Deletion(_Model):
    """The platform deleted (or hid) a mention: consumers should drop what they derived from it."""

    id: str = Field(pattern=MENTION_ID, description="Id of the deleted mention.")
    deleted_at: UtcDatetime = Field(description="When the connector learnt of the deletion (UTC).")


class RawBatch(_Model):
    """Value of `brandmon.mentions.raw.v1`: mentions (and deletions) that hash to one partition.

    A bare `Mention` object is accepted on the topic too, for third-party producers. A deletion is
    published in a batch keyed by the deleted mention's id, so it follows the mention's partition.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["mentions"], "properties": {"mentions": {"minItems": 1}}},
                {"required": ["deletions"], "properties": {"deletions": {"minItems": 1}}},
            ]
        }
    )

    mentions: list[Mention] = Field(default_factory=list)
    deletions: list[Deletion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> RawBatch:
        if not self.mentions and not self.deletions:
            raise ValueError("a batch needs at least one mention or deletion")
        return self


SentimentLabel = Literal["negative", "neutral", "positive"]


class Sentiment(_Model):
    compound: float = Field(ge=-1.0, le=1.0)
    pos: float = Field(ge=0.0, le=1.0)
    neu: float = Field(ge=0.0, le=1.0)
    neg: float = Field(ge=0.0, le=1.0)
    label: SentimentLabel
    model: str = Field(description="Scorer name, e.g. `vaderSentiment`.")
    model_version: str


class ScoredMention(_Model):
    """Value of `brandmon.mentions.scored.v1`: one record per mention and matched brand.

    The key is the brand id. `sentiment` is null for languages brandmon does not score.
    """

    mention: Mention
    brand: str
    matched_terms: list[str]
    lang: str = Field(description="Detected language (ISO 639-1) or `und` when unsure.")
    sentiment: Sentiment | None
    scored_at: UtcDatetime


DeadLetterReason = Literal[
    "oversize",
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "missing_field",
    "invalid_field",
    "invalid_id",
    "processing_error",
]


class DeadLetterOrigin(_Model):
    topic: str
    partition: int
    offset: int
    index: int | None = Field(default=None, description="Position inside a batch, if the message was one.")


class DeadLetter(_Model):
    """Value of `brandmon.mentions.dlq.v1`: what could not be processed, why, and where from."""

    reason: DeadLetterReason
    detail: str = Field(max_length=2000)
    origin: DeadLetterOrigin
    original: str = Field(
        max_length=(DLQ_MAX_ORIGINAL_BYTES * 4) // 3 + 4,
        description="The original bytes, base64-encoded (the first 512 KiB if truncated).",
    )
    original_truncated: bool = Field(default=False, description="True when `original` was cut.")
    original_bytes: int = Field(ge=0, description="Length of the original value in bytes.")
    dead_lettered_at: UtcDatetime


AlertState = Literal["opened", "updated", "resolved"]
Severity = Literal["low", "medium", "high"]


class DrivingTerm(_Model):
    term: str = Field(description="`word`, `two words`, `#hashtag` or `site:domain`.")
    count: int = Field(ge=0, description="Mentions with the term in the alert's buckets.")
    expected: float = Field(ge=0.0, description="Count expected from the brand's recent history.")
    growth: float = Field(ge=0.0, description="count / expected, with add-one smoothing.")
    new: bool = Field(description="Not among the brand's frequent terms before the spike.")


class SamplePost(_Model):
    id: str
    author: str
    source: str
    url: str | None
    text: str = Field(max_length=280)
    engagement: int = Field(ge=0, description="likes + 2 x reshares + replies")
    lang: str
    created_at: UtcDatetime


class SentimentShift(_Model):
    before: float | None = Field(description="Mean compound score before the spike (None: none scored).")
    during: float | None
    negative_share_before: float | None = Field(ge=0.0, le=1.0)
    negative_share_during: float | None = Field(ge=0.0, le=1.0)


class RumourEvidence(_Model):
    enquiry_share: float = Field(ge=0.0, le=1.0, description="Share asking whether it is true.")
    correction_share: float = Field(ge=0.0, le=1.0, description="Share saying it is not true.")
    reshare_share: float = Field(ge=0.0, le=1.0)
    unique_authors: int = Field(ge=0)
    expected_authors: float = Field(ge=0.0)
    sources: int = Field(ge=0, description="Distinct sources in the alert's buckets.")
    novelty: float = Field(ge=0.0, le=1.0, description="Share of driving terms that are new.")
    likely_rumour: bool = Field(
        default=False,
        description="Enquiries and corrections together make at least 10% of the posts, across two or "
        "more sources: people are asking whether a claim is true, not just sharing news.",
    )


class Alert(_Model):
    """One state change of a spike alert: opened, updated while it grows, resolved when it subsides.

    `alert_id` stays the same through the lifecycle; consumers keep the newest message per id.
    """

    alert_id: str = Field(description="`brand:topic:first_seen_epoch`, stable for the alert's life.")
    brand: str
    brand_name: str
    topic: str = Field(description="The leading driving term when opened, or `volume`.")
    state: AlertState
    severity: Severity
    score: float = Field(ge=0.0, le=1.0, description="Surprise of the latest bucket (1 = most unusual).")
    bucket_seconds: int = Field(ge=1)
    bucket_start: UtcDatetime = Field(description="Start of the latest closed bucket.")
    first_seen: UtcDatetime = Field(description="Start of the first bucket of the spike.")
    observed: int = Field(ge=0, description="Distinct authors in the latest bucket (the detected series).")
    expected: float = Field(ge=0.0, description="Baseline for that bucket.")
    mentions: int = Field(ge=0, description="Mentions in the latest bucket.")
    driving_terms: list[DrivingTerm]
    posts: list[SamplePost] = Field(
        description="Representative posts from different authors, most engaged first."
    )
    sources: dict[str, int]
    languages: dict[str, int]
    sentiment: SentimentShift
    rumour: RumourEvidence
    dashboard_url: str | None
    detector: str = Field(description="Detector name and version.")
    emitted_at: UtcDatetime


TOPIC_MODELS: dict[str, type[BaseModel]] = {
    RAW_TOPIC: RawBatch,
    SCORED_TOPIC: ScoredMention,
    DLQ_TOPIC: DeadLetter,
    ALERTS_TOPIC: Alert,
}


def dumps(model: BaseModel) -> bytes:
    """Serialise a contract model to the JSON bytes that go on a topic: pydantic's own JSON
    serialiser, which writes the bytes `orjson.dumps(model.model_dump(), option=OPT_UTC_Z)`
    wrote (tests/test_schemas.py) without building the dicts in between (4.1 vs 7.3 us a record)."""
    encoded: bytes = type(model).__pydantic_serializer__.to_json(model)
    return encoded


def json_schema(topic: str) -> dict[str, Any]:
    schema = TOPIC_MODELS[topic].model_json_schema(mode="validation")
    schema["$id"] = f"https://brandmon.dev/schemas/{topic}.json"
    schema["title"] = topic
    return schema


def schema_filename(topic: str) -> str:
    return re.sub(r"[^a-z0-9.]", "-", topic) + ".json"
