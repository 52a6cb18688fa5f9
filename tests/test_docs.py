"""The docs that are checked against the code: hooks reference, spec reference."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from conceptlab import hookspecs
from conceptlab.docs import INTERFACE_PAGE, interfaces_reference, main, spec_reference
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


def test_interfaces_reference_is_generated_from_the_code():
    assert (DOCS / "interfaces.md").read_text() == interfaces_reference(), (
        "docs/interfaces.md is stale: regenerate it with "
        "`python -m conceptlab.docs interfaces > docs/interfaces.md`"
    )


def test_interfaces_reference_has_every_abstract_method_with_its_signature_and_contract():
    page = interfaces_reference()
    checked = 0
    for cls, _ in INTERFACE_PAGE:
        for name in sorted(getattr(cls, "__abstractmethods__", ())):
            if name not in cls.__dict__:
                continue  # inherited: documented under the class that declares it
            member = cls.__dict__[name]
            fn = member.fget if isinstance(member, property) else member
            section = page.split(f"## `{cls.__name__}`", 1)[1].split("\n## ", 1)[0]
            assert f"#### `{name}`" in section, (cls.__name__, name)
            assert f"def {name}(" in section, (cls.__name__, name)
            first_line = inspect.cleandoc(fn.__doc__).splitlines()[0].replace("``", "`")
            assert first_line in section, (cls.__name__, name)
            checked += 1
    assert checked >= 25
    assert "def evaluate(self, states: Sequence[S], layers: Sequence[str] = ()) -> Evaluation" in page


def test_a_changed_docstring_makes_the_page_differ(monkeypatch):
    from conceptlab.interfaces import ConceptMiner

    before = interfaces_reference()
    monkeypatch.setattr(ConceptMiner.mine, "__doc__", "A contract that changed.")
    after = interfaces_reference()
    assert after != before and "A contract that changed." in after


def test_the_docs_module_prints_the_page(capsys):
    assert main(["interfaces"]) == 0
    assert capsys.readouterr().out == interfaces_reference()


def test_writing_plugins_links_the_interfaces_page():
    assert "(interfaces.md)" in (DOCS / "writing_plugins.md").read_text()
