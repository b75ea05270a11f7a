"""The domain plug-ins reach the core only through backend.plugin_api: the import-linter contract
in pyproject.toml holds, it names every core module, and it does catch an import it forbids."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# What a plug-in may use of the backend package: the facade, its own types, the shared text helpers.
PLUG_IN_SDK = {"plugin_api", "plugins", "text", "spanish", "understanding"}


def contract() -> dict:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (only,) = config["contracts"]
    return only


def lint(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *arguments], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_the_plug_ins_keep_the_contract():
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_forbids_every_core_module_and_covers_every_plug_in():
    backend = REPO / "backend"
    core = {p.stem for p in backend.glob("*.py") if p.stem != "__init__"} | \
           {p.name for p in backend.iterdir() if (p / "__init__.py").is_file() or (p.is_dir() and any(p.glob("*.py")))}
    core -= PLUG_IN_SDK | {"__pycache__"}
    assert {m.removeprefix("backend.") for m in contract()["forbidden_modules"]} == core
    plugins = {f"backend.plugins.{p.stem}" for p in (backend / "plugins").glob("*.py")} | \
              {f"backend.plugins.{p.name}" for p in (backend / "plugins").iterdir() if (p / "plugin.py").is_file()}
    plugins -= {"backend.plugins.__init__", "backend.plugins.base", "backend.plugins.registry"}  # the core's side
    assert set(contract()["source_modules"]) == plugins


def test_the_linter_catches_a_forbidden_import(tmp_path):
    config = tmp_path / "contract.toml"
    config.write_text('[tool.importlinter]\nroot_package = "backend"\n\n[[tool.importlinter.contracts]]\n'
                      'name = "the registry may not touch the store"\ntype = "forbidden"\n'
                      'source_modules = ["backend.plugins.registry"]\nforbidden_modules = ["backend.store"]\n')
    result = lint("--config", str(config))
    assert result.returncode == 1 and "backend.plugins.registry -> backend.store.database" in result.stdout
