"""Place panels on Grafana's 24-column grid: sections of panels flowing left to right."""

from __future__ import annotations

from collections.abc import Sequence

import attr
from grafanalib.core import GridPos, Panel

from _lib.panels import Row
from grafana_sync.model import GRID_WIDTH


@attr.s(frozen=True)
class Section:
    """A titled row of panels; panels wrap onto a new line when the 24 columns are full."""

    title: str = attr.ib()
    panels: Sequence[Panel] = attr.ib(converter=tuple)


def section(title: str, *panels: Panel) -> Section:
    return Section(title, panels)


def layout(sections: Sequence[Section]) -> list[Panel]:
    """Return the dashboard's panel list with every gridPos set (rows first, then their panels).

    Each panel keeps the w/h its factory gave it; x/y follow from the order. A panel wider than
    the grid is a programming error, caught here rather than by Grafana.
    """
    placed: list[Panel] = []
    y = 0
    for sec in sections:
        placed.append(Row(title=sec.title, gridPos=GridPos(h=1, w=GRID_WIDTH, x=0, y=y)))
        y += 1
        x, line_height = 0, 0
        for panel in sec.panels:
            w, h = panel.gridPos.w, panel.gridPos.h
            if not 0 < w <= GRID_WIDTH:
                raise ValueError(f"panel {panel.title!r}: width {w} outside 1..{GRID_WIDTH}")
            if x + w > GRID_WIDTH:
                y += line_height
                x, line_height = 0, 0
            placed.append(attr.evolve(panel, gridPos=GridPos(h=h, w=w, x=x, y=y)))
            x += w
            line_height = max(line_height, h)
        y += line_height
    return placed
