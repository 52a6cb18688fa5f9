"""The docs that are checked against the code: hooks reference, spec reference."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from conceptlab import hookspecs
from conceptlab.docs import spec_reference
from conceptlab.plugins import get_registry

DOCS = Path(__file__).resolve().parents[1] / "docs"
HOOKS = sorted(
    (name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "conceptlab_spec")),
)


def signature(name: str) -> str:
    fn = getattr(hookspecs, name)
    sig = inspect.signature(fn)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}"


def test_there_are_hooks():
    assert "register_domains" in HOOKS and "add_cli_commands" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_section_with_its_exact_signature(name):
    text = (DOCS / "hooks.md").read_text()
    match = re.search(rf"^### {name}\n\n```python\n(.+?)\n```", text, re.M)
    assert match, f"docs/hooks.md has no section '### {name}' with a python signature block"
    assert match.group(1) == signature(name)


def test_hooks_doc_has_no_section_for_a_hook_that_does_not_exist():
    text = (DOCS / "hooks.md").read_text()
    assert sorted(re.findall(r"^### (\w+)$", text, re.M)) == HOOKS


def test_spec_reference_is_generated_from_the_code():
    expected = spec_reference(get_registry())
    assert (DOCS / "specs.md").read_text() == expected, (
        "docs/specs.md is stale: regenerate it with "
        "`.venv/bin/conceptlab spec schema --markdown > docs/specs.md`"
    )
