"""Template variables: the datasource first, then label variables chained on `$model`."""

from __future__ import annotations

from typing import Any

import attr
from _config import CONFIG
from grafanalib.core import Template

from _lib.panels import DATASOURCE

ALL = {"selected": True, "text": ["All"], "value": ["$__all"]}


@attr.s
class Variable(Template):
    """A variable in Grafana 11's shape (grafanalib's Template emits Grafana 5 keys)."""

    description: str = attr.ib(default="")

    def to_json_data(self) -> dict[str, Any]:
        if self.type == "datasource":
            return {
                "current": {"selected": True, "text": "Prometheus", "value": self.default},
                "hide": 0,
                "includeAll": False,
                "label": self.label,
                "multi": False,
                "name": self.name,
                "options": [],
                "query": self.query,
                "refresh": 1,
                "regex": "",
                "skipUrlSync": False,
                "type": "datasource",
            }
        return {
            "allValue": ".*",
            "current": ALL,
            "datasource": DATASOURCE,
            "description": self.description,
            "hide": 0,
            "includeAll": True,
            "label": self.label,
            "multi": True,
            "name": self.name,
            "options": [],
            "query": self.query,
            "refresh": 2,  # on time-range change: new models/versions appear without a reload
            "regex": "",
            "skipUrlSync": False,
            "sort": 1,
            "type": "query",
        }


def datasource() -> Variable:
    """`datasource`: any Prometheus-type datasource, default the provisioned one (uid fixed)."""
    return Variable(name="datasource", label="Data source", query="prometheus",
                    type="datasource", default=CONFIG.datasource_uid)


def label_values(name: str, label: str, metric: str, title: str, description: str) -> Variable:
    """A multi-select variable with All, from `label_values(metric, label)` on `${datasource}`."""
    return Variable(name=name, label=title, query=f"label_values({metric}, {label})",
                    description=description)
