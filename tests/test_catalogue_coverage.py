"""Every case of docs/bad-input-catalogue.md is a test: a test marked ``catalogue("B9")`` covers row B9."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parent
CATALOGUE = TESTS.parent / "docs" / "bad-input-catalogue.md"


def catalogue_ids() -> set[str]:
    """The ids of the catalogue's table rows (``| B9 | ...``)."""
    return set(re.findall(r"^\|\s*([A-G]\d+)\s*\|", CATALOGUE.read_text(), re.MULTILINE))


def covered_ids() -> dict[str, list[str]]:
    """id -> test files whose ``pytest.mark.catalogue(...)`` names it (read from the source, not run)."""
    covered: dict[str, list[str]] = {}
    for path in sorted(TESTS.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "catalogue"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        covered.setdefault(arg.value, []).append(path.name)
    return covered


def test_the_catalogue_has_its_114_cases():
    ids = catalogue_ids()
    assert len(ids) == 114
    assert {i[0] for i in ids} == set("ABCDEFG")


def test_every_catalogue_case_has_a_test():
    missing = sorted(catalogue_ids() - covered_ids().keys(), key=lambda i: (i[0], int(i[1:])))
    assert not missing, f"catalogue cases without a test marked catalogue(...): {missing}"


def test_no_test_names_a_case_that_is_not_in_the_catalogue():
    unknown = sorted(covered_ids().keys() - catalogue_ids())
    assert not unknown, f"tests name catalogue cases that do not exist: {unknown}"
