"""Database per service, in code: the services never import each other."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_import_contracts_hold() -> None:
    """import-linter walks the whole import graph, so indirect imports count too."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_event_contract_is_a_leaf_of_the_standard_library() -> None:
    tree = ast.parse((REPO_ROOT / "event_contract.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_services_share_no_module_but_the_contract() -> None:
    """Every first-party import of a service stays inside it, or is the event contract."""
    first_party = {
        "api_app", "notify_app", "worker", "api_worker", "scheduler", "wsgi", "devstack",
        "event_contract",
    }  # fmt: skip
    allowed = {
        "api_app": {"api_app", "event_contract"},
        "notify_app": {"notify_app", "event_contract"},
    }
    for service, permitted in allowed.items():
        for path in (REPO_ROOT / service).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top in first_party:
                        assert top in permitted, f"{path.relative_to(REPO_ROOT)} imports {name}"
