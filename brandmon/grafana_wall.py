"""The wall: brandmon's state on a TV across the room, readable from 5 m, no scrolling.

One strip per brand (name and mentions per minute, authors against the usual level, net
sentiment, worst open rumour alert), and on the right the pipeline's data age, sources down and
Grafana's list of firing brandmon alerts. Everything fits Grafana's first 24 grid rows (a 1080p
screen in kiosk mode), so a page holds at most `BRANDS_PER_PAGE` brands: more brands give more
wall pages, which the TV playlist rotates. Colours carry the state (green, orange, red
backgrounds) so a glance answers "is anything wrong?" before any number is read.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import dashboard as models

from brandmon import grafana_tiles as tiles
from brandmon.config import BrandConfig, BrandmonConfig
from brandmon.grafana_panels import PanelBuilder

SCREEN_ROWS = 24
"""Grid rows visible without scrolling on a 1080p screen in kiosk mode."""
BRANDS_PER_PAGE = 6
SIDE_X, SIDE_W = 18, 6
"""The right-hand column (pipeline state, alert list); brand strips use the 18 columns left of it."""
TV_QUERY = "kiosk&theme=dark"
"""URL parameters for the TV: no Grafana chrome, dark theme (Grafana 11 dashboards carry no theme)."""


def wall_uid(page: int = 0) -> str:
    return "brandmon-wall" if page == 0 else f"brandmon-wall-{page + 1}"


def wall_pages(config: BrandmonConfig) -> list[list[BrandConfig]]:
    """The brands of each wall page, in config order."""
    brands = list(config.brands)
    return [brands[i : i + BRANDS_PER_PAGE] for i in range(0, len(brands), BRANDS_PER_PAGE)]


def _strip(brand: BrandConfig, y: int, h: int) -> list[PanelBuilder]:
    """One brand's tiles at grid row `y`; the brand's name is the first tile's big label."""
    name, b = brand.name, brand.id
    return [
        tiles.volume(b, (0, y, 6, h), name=name, title=f"{name}: mentions per minute"),
        tiles.versus_usual(b, (6, y, 4, h), name="vs usual", title=f"{name}: authors vs usual"),
        tiles.net_sentiment(b, (10, y, 4, h), name="sentiment", title=f"{name}: net sentiment (1 h)"),
        tiles.rumour(b, (14, y, 4, h), name="rumour", title=f"{name}: rumour alert"),
    ]


def wall(config: BrandmonConfig, page: int = 0) -> dashboard_builders.Dashboard:
    """Wall page `page` (0-based) of the configured brands.

    Strips get the height the page allows (4 rows for 6 brands, up to 8 for a few), read-only,
    refreshed every 30 s, time picker hidden: nothing on it invites a click.
    """
    brands = wall_pages(config)[page]
    height = max(3, min(8, SCREEN_ROWS // len(brands)))
    title = "Brandmon wall" if page == 0 else f"Brandmon wall {page + 1}"
    board = (
        dashboard_builders.Dashboard(title)
        .uid(wall_uid(page))
        .description("For a TV: open with ?kiosk&theme=dark, or run the Brandmon TV playlist.")
        .tags(["brandmon", "brandmon-tv"])
        .time("now-3h", "now")
        .refresh("30s")
        .timepicker(dashboard_builders.TimePicker().hidden(True))
        .tooltip(models.DashboardCursorSync.OFF)
        .readonly()
        .link(
            dashboard_builders.DashboardLink("TV mode")
            .type(models.DashboardLinkType.LINK)
            .url(f"/d/{wall_uid(page)}?{TV_QUERY}")
            .tooltip("This wall without Grafana's menus, in the dark theme")
        )
    )
    panels: list[PanelBuilder] = []
    for index, brand in enumerate(brands):
        panels += _strip(brand, index * height, height)
    panels += [
        tiles.data_age((SIDE_X, 0, SIDE_W, 4), name="data age"),
        tiles.sources_down((SIDE_X, 4, SIDE_W, 4), name="sources down"),
        tiles.alert_list((SIDE_X, 8, SIDE_W, SCREEN_ROWS - 8)),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board
