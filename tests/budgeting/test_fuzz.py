"""schemathesis against the live gateway with a signed-in user's token: no 5xx, nothing off-spec.

A bounded run here (FUZZ_MAX_EXAMPLES cases per operation, 10 unless set); `make fuzz` runs the
same with many more. Every third request with a JSON body sends a hostile body instead (deep
nesting, huge numbers, long strings, invalid UTF-8, duplicate keys: tests/fuzz_hooks.py). On
failure the full report is kept in the test's temporary directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.users import SignedInUser

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "ignored_auth",
        "use_after_free",
        # Not "ensure_resource_availability": it reads any 404 from PATCH /transactions/{id}
        # right after its POST as "the created resource is gone", but a PATCH whose body names
        # a category that is not the user's answers 404 for that category, by design (another
        # user's id is answered exactly as a missing one, in a path or in a body).
    ]
)


def run_schemathesis(base_url: str, token: str, spec_path: str, tmp_path: Path) -> None:
    max_examples = os.environ.get("FUZZ_MAX_EXAMPLES", "10")
    result = subprocess.run(
        [
            SCHEMATHESIS, "run", f"{base_url}{spec_path}",
            "--header", f"Authorization: Bearer {token}",
            "--checks", CHECKS,
            "--max-examples", max_examples,
            # One worker: hypothesis's reflection calls ast.parse, and CPython 3.11 can fail
            # that from concurrent threads ("AST constructor recursion depth mismatch").
            "--workers", "1",
            "--report", "junit", "--report-dir", str(tmp_path),
        ],
        # Its example database and cache land in the test's directory, not in the repository.
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    report = tmp_path / "schemathesis.txt"
    report.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"full output in {report}:\n{result.stdout[-20000:]}"


@pytest.mark.parametrize("spec_path", ["/api/openapi.json", "/api/notifications/openapi.json"])
def test_schemathesis_finds_no_server_error_and_nothing_off_spec(
    live_gateway: str, make_user: Callable[[], SignedInUser], tmp_path: Path, spec_path: str
) -> None:
    run_schemathesis(live_gateway, make_user().access_token, spec_path, tmp_path)
