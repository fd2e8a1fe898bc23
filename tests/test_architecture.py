"""Architecture, in code: the services never import each other, and a unit of work alone ends
transactions."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
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


def test_services_share_no_module_but_the_contract_and_the_kit() -> None:
    """Every first-party import of a service stays inside it, or is the event contract or the
    infrastructure kit; the kit imports only itself."""
    first_party = {
        "api_app", "notify_app", "worker", "api_worker", "scheduler", "wsgi", "devstack",
        "event_contract", "service_kit",
    }  # fmt: skip
    allowed = {
        "api_app": {"api_app", "event_contract", "service_kit"},
        "notify_app": {"notify_app", "event_contract", "service_kit"},
        "service_kit": {"service_kit"},
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


def test_the_kit_holds_no_domain() -> None:
    """service_kit is infrastructure: no model, no table, no SQL that names one, nothing of
    either service's domain. Each service keeps its models, migrations and databases."""
    table_names = {
        table
        for service in ("api_app", "notify_app")
        for migration in (REPO_ROOT / service / "migrations" / "versions").glob("*.py")
        for table in _created_tables(migration)
    }
    assert {"users", "deliveries"} <= table_names  # the check below knows what to look for
    # Stems of the services' domains (not "transaction": a database has those too).
    domain_words = {"budget", "categor", "goal", "recurring", "deliver", "telegram", "outbox"}
    for path in (REPO_ROOT / "service_kit").rglob("*.py"):
        tree = ast.parse(path.read_text())
        where = path.relative_to(REPO_ROOT)
        # Prose may speak of users; a string the code uses (SQL, a name) may not name a table.
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base) for base in node.bases}
                assert not bases & {"db.Model", "Model", "Base"}, f"{where}: model {node.name}"
                assert not any(
                    isinstance(item, ast.Assign)
                    and any(ast.unparse(target) == "__tablename__" for target in item.targets)
                    for item in node.body
                ), f"{where}: table {node.name}"
            if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "Table":
                raise AssertionError(f"{where}: declares a table")
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                words = set(node.value.lower().replace(",", " ").split())
                assert not words & table_names, f"{where}: names a table: {node.value!r}"
            names = {
                ast.Name: "id", ast.Attribute: "attr", ast.FunctionDef: "name", ast.ClassDef: "name"
            }  # fmt: skip
            if type(node) in names:
                name = str(getattr(node, names[type(node)])).lower()
                assert not any(word in name for word in domain_words), f"{where}: {name}"


def _created_tables(migration: Path) -> set[str]:
    tables: set[str] = set()
    for node in ast.walk(ast.parse(migration.read_text())):
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "op.create_table"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            tables.add(str(node.args[0].value))
    return tables


# What starts or ends a database transaction by hand: `.commit(`, `.rollback(`, `.begin(`,
# `.begin_nested(` on anything (session, connection, engine).
TRANSACTION_CALLS = frozenset({"commit", "rollback", "begin", "begin_nested"})


@dataclass(frozen=True)
class TransactionOwners:
    """A service's package and where in it a transaction may be begun or ended by hand: its unit
    of work, and named exceptions, each `path` (the whole module) or `path::function`, with why."""

    package: str
    allowed: Mapping[str, str]


TRANSACTION_OWNERS = [
    TransactionOwners(
        "api_app",
        {
            "api_app/events/outbox.py::publish_pending": (
                "the outbox claim: the fast path runs it inside a unit's commit (after_commit),"
                " and api_app.events lies below the unit of work, which records into it"
            ),
        },
    ),
    TransactionOwners(
        "notify_app",
        {"notify_app/unit_of_work.py::commit": "the unit's commit before a Telegram request"},
    ),
    TransactionOwners(
        "service_kit",
        {
            "service_kit/unit_of_work.py": "both units of work begin and end here",
            "service_kit/health.py::database_answers": (
                "the health probe ends its bounded probe query; no use case runs there"
            ),
        },
    ),
]


def transaction_calls(package: str) -> set[tuple[str, str, int]]:
    """(path, enclosing function or "", line) of every transaction call in the package."""
    found: set[tuple[str, str, int]] = set()

    def visit(node: ast.AST, path: str, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, path, child.name)
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in TRANSACTION_CALLS
                # A unit's own `uow.commit()` (notify_app's, before a Telegram request) is the
                # unit of work committing.
                and not (isinstance(child.func.value, ast.Name) and child.func.value.id == "uow")
            ):
                found.add((path, function, child.lineno))
            visit(child, path, function)

    for file in sorted((REPO_ROOT / package).rglob("*.py")):
        path = file.relative_to(REPO_ROOT).as_posix()
        visit(ast.parse(file.read_text()), path, "")
    return found


@pytest.mark.parametrize("owners", TRANSACTION_OWNERS, ids=lambda owners: owners.package)
def test_only_the_unit_of_work_begins_commits_or_rolls_back(owners: TransactionOwners) -> None:
    calls = transaction_calls(owners.package)
    used: set[str] = set()
    outside = []
    for path, function, line in sorted(calls):
        allowance = next(
            (key for key in (path, f"{path}::{function}") if key in owners.allowed), None
        )
        if allowance is None:
            outside.append(f"{path}:{line} (in {function or 'the module'})")
        else:
            used.add(allowance)
    assert not outside, "transactions are begun or ended outside the unit of work: " + ", ".join(
        outside
    )
    # An exception nobody needs any more goes, so the list stays the truth.
    assert set(owners.allowed) == used, set(owners.allowed) - used


def test_only_the_unit_of_work_adds_to_the_outbox() -> None:
    """`uow.record` is the only way to add an event to api_app's outbox."""
    writers = {"record_event", "record_event_once"}
    users = set()
    for file in (REPO_ROOT / "api_app").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            named = node.id if isinstance(node, ast.Name) else None
            if isinstance(node, ast.alias):
                named = node.name
            if named in writers:
                users.add(file.relative_to(REPO_ROOT).as_posix())
    assert users == {"api_app/unit_of_work.py"}
