"""The schema versions, checked before anything is written to the target, and the target migrated
to them.

First the source's schema versions (core and each plug-in's) are read, and refused: a version
this code does not know, a plug-in it does not have, or a target that already holds data (any
row in any table but the migrations' bookkeeping) or a newer schema than the source. Nothing has
been written to the target yet when it refuses. Then the target is migrated with the same
migrations, core and every plug-in the source has, up to exactly the source's versions (so the
columns match; the backend migrates further on start)."""
from __future__ import annotations

from backend.store.copy.common import CopyError, _first_line, _q
from backend.store.copy.plan import BOOKKEEPING, _sqlite_only
from backend.store.database import Database


def _applied(db: Database, tables: set[str]) -> tuple[dict[int, str], dict[str, dict[int, str]]]:
    core: dict[int, str] = {}
    plugins: dict[str, dict[int, str]] = {}
    if "schema_migrations" in tables:
        core = {v: n for v, n in db.execute("SELECT version, name FROM schema_migrations")}
    if "plugin_migrations" in tables:
        for plugin, version, name in db.execute("SELECT plugin, version, name FROM plugin_migrations"):
            plugins.setdefault(plugin, {})[version] = name
    return core, plugins


def _check_known(applied: dict[int, str], known: list[tuple], what: str) -> int:
    """The source's version of one migration series, refused unless this code has every step."""
    names = {version: name for version, name, _ in known}
    newest_known = max(names, default=0)
    for version in sorted(applied):
        if version not in names:
            raise CopyError(f"the source's {what} is at version {max(applied)}; this Chasqui knows versions up to "
                            f"{newest_known}: copy with the Chasqui release that wrote it (nothing was changed)")
        if applied[version] != names[version]:
            raise CopyError(f"the source's {what} migration {version} is {applied[version]!r}, here it is "
                            f"{names[version]!r}: not the same schema (nothing was changed)")
    newest = max(applied, default=0)
    missing = sorted(set(range(1, newest + 1)) - set(applied))
    if missing:
        raise CopyError(f"the source's {what} lacks migrations {missing} below its version {newest} (nothing was changed)")
    return newest


def _source_versions(source: Database, tables: set[str]) -> tuple[int, dict[str, tuple[int, list]]]:
    from backend.plugins.registry import PluginError, load_plugins
    from backend.store.migrations import MIGRATIONS

    core, plugins = _applied(source, tables)
    if not core:
        raise CopyError(f"the source {source.url} is not a Chasqui database (no schema_migrations rows)")
    core_version = _check_known(core, MIGRATIONS, "core schema")
    versions = {}
    for name in sorted(plugins):
        try:
            plugin = next(iter(load_plugins((name,)).values()))
        except PluginError:
            raise CopyError(f"the source has the tables of a plug-in named {name!r}, which this Chasqui does not "
                            "have (nothing was changed)") from None
        versions[name] = (_check_known(plugins[name], plugin.migrations, f"plug-in {name}"), plugin.migrations)
    return core_version, versions


def _check_target_empty(target: Database, tables: set[str], core_version: int,
                        plugin_versions: dict[str, tuple[int, list]]) -> None:
    """Refused before anything is written to the target."""
    holding = []
    for table in sorted(tables - set(BOOKKEEPING) - _sqlite_only(target, tables)):
        if target.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None:
            holding.append(f"{table} ({target.execute(f'SELECT COUNT(*) FROM {_q(table)}').fetchone()[0]:,} rows)")
    if holding:
        raise CopyError(f"the target {target.url} already holds data: {', '.join(holding)}. Copy into an empty "
                        "database (a new one, or drop and create this one); nothing was changed")
    core, plugins = _applied(target, tables)
    if core and max(core) > core_version:
        raise CopyError(f"the target's core schema is at version {max(core)}, newer than the source's {core_version}: "
                        "migrate the source first (chasqui db migrate, or start its backend once), or copy into a "
                        "new database; nothing was changed")
    for name, applied in plugins.items():
        if applied and max(applied) > plugin_versions.get(name, (0, []))[0]:
            raise CopyError(f"the target's plug-in {name} is at version {max(applied)}, newer than the source's "
                            f"{plugin_versions.get(name, (0, []))[0]}: copy into a new database; nothing was changed")


def _migrate_target(target: Database, core_version: int, plugin_versions: dict[str, tuple[int, list]]) -> list[int]:
    from backend.store.migrations import MIGRATIONS, migrate

    try:
        applied = migrate(target, [m for m in MIGRATIONS if m[0] <= core_version])
        for name, (version, migrations) in plugin_versions.items():
            migrate(target, [m for m in migrations if m[0] <= version], plugin=name)
    except Exception as problem:
        raise CopyError(f"migrating the target failed: {_first_line(problem)}", exit_code=1) from None
    return applied
