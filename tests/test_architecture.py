"""Database per service, in code: the services never import each other."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


# Each service's unit of work, the only module of it that ends a transaction; and what else may,
# with the reason.
UNITS_OF_WORK = {"notify_app": "notify_app/unit_of_work.py"}
ENDS_A_TRANSACTION_BESIDES = {
    # The liveness probe's `SELECT 1` (infrastructure, no use case: it ends what it opened).
    "notify_app/health.py": "the health probe",
}
# A session's, a connection's or a transaction's; a unit's own (`uow.commit()`) is the way.
ENDING_A_TRANSACTION = re.compile(r"(?<!\buow)\.(commit|rollback)\(")


def transactions_ended_outside_the_unit_of_work(package: str) -> list[str]:
    """`path:line` of every `.commit(` or `.rollback(` in `package` outside its unit of work
    (migrations excepted: Alembic runs them)."""
    allowed = {UNITS_OF_WORK[package], *ENDS_A_TRANSACTION_BESIDES}
    found = []
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative in allowed or "/migrations/" in relative:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if ENDING_A_TRANSACTION.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("package", sorted(UNITS_OF_WORK))
def test_only_the_unit_of_work_commits_or_rolls_back(package: str) -> None:
    assert transactions_ended_outside_the_unit_of_work(package) == []
