"""Every hook is declared, documented, tested and has a conformance check."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

import pytest

from twinify.hookspecs import HOOK_NAMES, TwinifySpecs
from twinify.testing import CONFORMANCE_CHECKS
from twinify.types import RECORD_TYPES

REPOSITORY = Path(__file__).resolve().parents[1]
HOOKS_DOC = REPOSITORY / "docs" / "plugins" / "hooks.md"


def hook_signature(name: str) -> str:
    function = getattr(TwinifySpecs, f"twinify_{name}")
    parameters = list(inspect.signature(function).parameters)[1:]
    return f"twinify_{name}({', '.join(parameters)})"


def declared_hooks() -> list[str]:
    return [name.removeprefix("twinify_") for name in vars(TwinifySpecs) if name.startswith("twinify_")]


def test_hook_names_complete():
    assert list(HOOK_NAMES) == declared_hooks()
    assert set(RECORD_TYPES) == set(HOOK_NAMES)


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_spec_takes_no_arguments(name):
    assert hook_signature(name) == f"twinify_{name}()"


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_spec_docstring_sections(name):
    docstring = inspect.getdoc(getattr(TwinifySpecs, f"twinify_{name}"))

    assert "Yields:" in docstring
    assert "Privacy contract:" in docstring
    assert "Example::" in docstring
    assert RECORD_TYPES[name].__name__ in docstring


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_spec_example_compiles(name):
    docstring = inspect.getdoc(getattr(TwinifySpecs, f"twinify_{name}"))
    example = docstring.split("Example::", 1)[1].split("\n.. ", 1)[0]

    compile(textwrap.dedent(example).strip(), f"twinify_{name} example", "exec")


def test_docs_list_every_hook():
    headings = [line for line in HOOKS_DOC.read_text().splitlines() if line.startswith("## ")]
    documented = [re.search(r"`(twinify_\w+\(.*?\))`", heading).group(1) for heading in headings]

    assert documented == [hook_signature(name) for name in HOOK_NAMES]


def test_every_hook_has_test():
    sources = "\n".join(path.read_text() for path in (REPOSITORY / "tests").rglob("test_*.py"))

    missing = [name for name in HOOK_NAMES if not re.search(rf"^def test_hook_{name}\(", sources, re.MULTILINE)]
    assert not missing, f"add a test named test_hook_<name> for: {missing}"


def test_every_hook_has_conformance_check():
    assert set(CONFORMANCE_CHECKS) == set(HOOK_NAMES)
    assert all(callable(check) for check in CONFORMANCE_CHECKS.values())
