"""Alerts as people read them: one line for the live view, a short report for backtests."""

from __future__ import annotations

from brandmon.schemas import Alert


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _mean(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def alert_line(alert: Alert) -> str:
    terms = ", ".join(f"{t.term} x{t.growth:g}" for t in alert.driving_terms[:3]) or "none"
    rumour = alert.rumour
    kind = " likely rumour," if rumour.likely_rumour else ""
    return (
        f"{alert.bucket_start:%Y-%m-%d %H:%M:%S} {alert.state.upper()} {alert.severity}{kind} "
        f"{alert.brand_name} '{alert.topic}': {alert.observed} authors vs {alert.expected:.1f} expected | "
        f"terms {terms} | enquiries {rumour.enquiry_share:.0%} corrections {rumour.correction_share:.0%}"
    )


def alert_report(alert: Alert) -> str:
    """The opening line plus what a community manager needs to decide what to do."""
    lines = [alert_line(alert)]
    if alert.state == "resolved":
        return "\n".join(lines)
    sentiment = alert.sentiment
    lines += [
        f"  first seen {alert.first_seen:%Y-%m-%d %H:%M} UTC, {alert.mentions} mentions in the latest bucket",
        "  sources: " + ", ".join(f"{name} {count}" for name, count in alert.sources.items()),
        "  languages: " + ", ".join(f"{name} {count}" for name, count in alert.languages.items()),
        f"  sentiment before {_mean(sentiment.before)} (negative {_share(sentiment.negative_share_before)}),"
        f" during {_mean(sentiment.during)} (negative {_share(sentiment.negative_share_during)})",
    ]
    for post in alert.posts:
        text = post.text.replace("\n", " ")
        lines.append(f"  > {post.author} ({post.source}, engagement {post.engagement}): {text}")
    if alert.dashboard_url:
        lines.append(f"  dashboard: {alert.dashboard_url}")
    return "\n".join(lines)
