"""Each module of the server does one job a newcomer can name: none over 500 lines.

The frontend's limit (400) is held by frontend/tests/modules.test.js.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 500
MODULES = sorted(
    path
    for package in ("dashboard", "realtime")
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.parts
)


def test_the_packages_have_modules():
    assert len(MODULES) > 50


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_is_over_500_lines(path: Path):
    lines = len(path.read_text().splitlines())
    assert lines <= LIMIT, f"{path.relative_to(ROOT)}: {lines} lines (split it by job)"
