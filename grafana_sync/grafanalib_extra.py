"""Two small additions to grafanalib for dashboards that grafanalib cannot fully express.

- `ExtraJson(obj, {...})` wraps any grafanalib object (Dashboard, Template, Target, DashboardLink,
  a panel…) and merges raw JSON into its output: nested objects merge, a key set to None is
  removed, anything else replaces (grafanalib's own panel `extraJson` cannot remove a key).
- `LibraryPanel(uid=..., name=..., ...)` places a library panel (its content lives in Grafana's
  panel library; the dashboard holds only the reference, as Grafana saves it).
- `PluginPanel(type=..., ...)` is a grafanalib `Panel` of any type grafanalib has no class for
  (plugin panels, newer core panels); everything beyond the common panel fields goes in `extraJson`.

Both are generic (nothing here knows any particular dashboard); `grafana-sync import` emits them
only where plain grafanalib falls short, so a reviewer sees exactly what is raw JSON.
"""

from __future__ import annotations

import copy
from typing import Any

import attr
from attr.validators import instance_of
from grafanalib.core import Panel


class ExtraJson:
    """A grafanalib object plus raw JSON merged over its output (nested dicts merge, rest replaces)."""

    def __init__(self, obj: Any, extraJson: dict[str, Any]) -> None:  # noqa: N803 (grafanalib's name)
        if not hasattr(obj, "to_json_data"):
            raise TypeError(f"ExtraJson wraps a grafanalib object, not a {type(obj).__name__}")
        if not isinstance(extraJson, dict):
            raise TypeError("ExtraJson's extraJson must be a dict")
        self.obj = obj
        self.extraJson = extraJson

    def __getattr__(self, name: str) -> Any:  # title, uid, … of the wrapped object
        if name in ("obj", "extraJson"):
            raise AttributeError(name)
        return getattr(self.obj, name)

    def to_json_data(self) -> dict[str, Any]:
        data = self.obj.to_json_data()
        if not isinstance(data, dict):
            raise TypeError(f"{type(self.obj).__name__} does not encode to a JSON object")
        data = dict(data)
        _merge(data, copy.deepcopy(self.extraJson))
        return data

    def __repr__(self) -> str:
        return f"ExtraJson({self.obj!r}, {self.extraJson!r})"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if hasattr(base.get(key), "to_json_data"):
            base[key] = base[key].to_json_data()
        if value is None:
            base.pop(key, None)
        elif isinstance(base.get(key), dict) and isinstance(value, dict):
            base[key] = dict(base[key])
            _merge(base[key], value)
        else:
            base[key] = value


@attr.s
class PluginPanel(Panel):
    """A panel of any `type`: the common grafanalib panel fields, the rest in `extraJson`."""

    type = attr.ib(default="", validator=instance_of(str))

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json({"type": self.type})


@attr.s
class LibraryPanel:
    """A reference to a Grafana library panel, placed on the dashboard's grid."""

    uid = attr.ib(validator=instance_of(str))
    name = attr.ib(default="", validator=instance_of(str))
    title = attr.ib(default=None)
    gridPos = attr.ib(default=None)  # noqa: N815 (Grafana's name)
    id = attr.ib(default=None)

    def to_json_data(self) -> dict[str, Any]:
        ref = {"uid": self.uid, "name": self.name} if self.name else {"uid": self.uid}
        return {"id": self.id, "title": self.title if self.title is not None else self.name,
                "gridPos": self.gridPos, "libraryPanel": ref}
