"""Source kinds by name, imported only when configured (a kind's client libraries load on use)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from connectors.health import SourceMetrics
from connectors.source import Source, SourceContext

SOURCE_CLASSES = {
    "replay": "connectors.replay:ReplaySource",
    "bluesky": "connectors.bluesky:BlueskySource",
    "rss": "connectors.rss:RssSource",
    "hackernews": "connectors.hackernews:HackerNewsSource",
    "reddit": "connectors.reddit:RedditSource",
    "mastodon": "connectors.mastodon:MastodonSource",
    "webhook": "connectors.webhook:WebhookSource",
}
"""kind -> `module:Class`. A kind listed in the config schema but not here is not built yet."""


def source_class(kind: str) -> type[Source]:
    try:
        module_name, _, class_name = SOURCE_CLASSES[kind].partition(":")
    except KeyError:
        known = ", ".join(sorted(SOURCE_CLASSES))
        raise ValueError(f"source kind {kind!r} has no connector yet (available: {known})") from None
    source: type[Source] = getattr(importlib.import_module(module_name), class_name)
    return source


def build_source(kind: str, name: str, options: Mapping[str, Any], metrics: SourceMetrics) -> Source:
    return source_class(kind)(options, SourceContext(name=name, health=metrics.for_source(name)))
