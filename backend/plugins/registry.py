"""Loads the configured plug-ins (BACKEND_PLUGINS=agro,running) and registers their forms."""
from __future__ import annotations

import importlib
import json


from backend.plugins.base import DomainPlugin
from backend.store.database import Database, now, transaction


class PluginError(ValueError):
    pass


def load_plugins(names: tuple[str, ...]) -> dict[str, DomainPlugin]:
    plugins = {}
    for name in names:
        try:
            module = importlib.import_module(f"backend.plugins.{name.strip()}")
        except ModuleNotFoundError:
            raise PluginError(f"no domain plug-in named {name!r} (BACKEND_PLUGINS)") from None
        if not hasattr(module, "PLUGIN"):  # a package keeps its PLUGIN in plugin.py, so that its
            module = importlib.import_module(f"{module.__name__}.plugin")  # libraries import alone
        plugin: DomainPlugin = module.PLUGIN
        plugins[plugin.name] = plugin
    if not plugins:
        raise PluginError("BACKEND_PLUGINS names no plug-in")
    return plugins


def register_forms(db: Database, plugins: dict[str, DomainPlugin]) -> None:
    """Plug-in forms become rows the admin can see; an admin's later edit of a schema is kept."""
    with transaction(db) as connection:
        for plugin in plugins.values():
            for form_name, schema in plugin.forms.items():
                connection.execute(
                    "INSERT INTO form_definitions (name, domain, schema, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [form_name, plugin.name, json.dumps(schema, ensure_ascii=False), now()])
