"""Specs: structure, then components; overrides; hashes; every file in specs/ validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from conceptlab.errors import ParamsError, SpecError, UnknownComponentError
from conceptlab.plugins import get_registry
from conceptlab.spec import apply_overrides, load_spec, resolve_spec, spec_from_dict, spec_hash

SPECS = sorted((Path(__file__).resolve().parents[1] / "specs").glob("*.toml"))
MINIMAL = 'name = "t"\n[domain]\nname = "tictactoe"\n[agent]\nname = "pvnet"\n'


@pytest.fixture(scope="module")
def registry():
    return get_registry()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_every_spec_in_specs_validates(path, registry):
    spec = load_spec(path)
    resolved = resolve_spec(spec, registry, source=str(path))
    assert set(resolved.classes) == {"domain", "agent", "search", "miner", "teachability", "novelty"}


def test_specs_folder_is_not_empty():
    assert SPECS


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"spec file not found: '.*nope.toml'"):
        load_spec(tmp_path / "nope.toml")


def test_toml_syntax_error(tmp_path):
    with pytest.raises(SpecError, match=r"TOML syntax error"):
        load_spec(write(tmp_path, 'name = "t"\n[domain\n'))


def test_unknown_field_suggests_the_right_one(tmp_path):
    with pytest.raises(SpecError, match=r"unknown field 'stages.train.iteratons' \(did you mean 'iterations'\?\)"):
        load_spec(write(tmp_path, MINIMAL + "[stages.train]\niteratons = 3\n"))


def test_wrong_type_names_the_field(tmp_path):
    with pytest.raises(SpecError, match=r"field 'seed'.*got 'seven'"):
        load_spec(write(tmp_path, MINIMAL.replace('name = "t"', 'name = "t"\nseed = "seven"')))


def test_missing_section(tmp_path):
    with pytest.raises(SpecError, match=r"missing field 'agent'"):
        load_spec(write(tmp_path, 'name = "t"\n[domain]\nname = "tictactoe"\n'))


def test_unknown_component_with_did_you_mean(tmp_path, registry):
    spec = load_spec(write(tmp_path, MINIMAL.replace('"tictactoe"', '"tictactoes"')))
    with pytest.raises(UnknownComponentError, match=r"\[domain\] unknown domain 'tictactoes' \(did you mean 'tictactoe'\?\)"):
        resolve_spec(spec, registry)


def test_component_param_of_wrong_type(tmp_path, registry):
    spec = load_spec(write(tmp_path, MINIMAL + '[search]\nname = "puct"\nparams = { simulations = "many" }\n'))
    with pytest.raises(ParamsError, match=r"\[search\] search 'puct': param 'simulations'.*'many'"):
        resolve_spec(spec, registry)


def test_unknown_component_param(tmp_path, registry):
    spec = load_spec(write(tmp_path, MINIMAL + '[search]\nname = "puct"\nparams = { simulation = 3 }\n'))
    with pytest.raises(ParamsError, match=r"param 'simulation'"):
        resolve_spec(spec, registry)


def test_selfplay_search_overrides_are_checked_against_the_search(tmp_path, registry):
    good = load_spec(write(tmp_path, MINIMAL), ["stages.train.selfplay_search={simulations=4}"])
    assert resolve_spec(good, registry).params["search"].simulations != 4  # the spec's own search
    for override, problem in (("simulations=0", "greater than or equal to 1"), ("simulatons=4", "simulatons")):
        spec = load_spec(write(tmp_path, MINIMAL), [f"stages.train.selfplay_search={{{override}}}"])
        with pytest.raises(ParamsError, match=rf"\[stages\.train\.selfplay_search\] search 'puct'.*{problem}"):
            resolve_spec(spec, registry)


def test_overrides_parse_toml_values():
    data = apply_overrides({"a": {"b": 1}}, ["a.b=5", "a.c=[1, 2]", "d=word", "e.f=true"])
    assert data == {"a": {"b": 5, "c": [1, 2]}, "d": "word", "e": {"f": True}}


def test_override_without_equals_is_an_error():
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        apply_overrides({}, ["seed"])


def test_override_reaches_the_spec(tmp_path):
    text = MINIMAL + '[search]\nname = "puct"\n'
    spec = load_spec(write(tmp_path, text), ["search.params.simulations=9", "seed=3"])
    assert spec.search.params == {"simulations": 9}
    assert spec.seed == 3


def test_hash_is_stable_and_sensitive():
    a = spec_from_dict({"name": "t", "domain": {"name": "x"}, "agent": {"name": "y"}})
    b = spec_from_dict({"agent": {"name": "y"}, "domain": {"name": "x"}, "name": "t"})
    c = spec_from_dict({"name": "t", "domain": {"name": "x"}, "agent": {"name": "y"}, "seed": 1})
    assert spec_hash(a) == spec_hash(b) != spec_hash(c)


def test_hash_ignores_the_executor():
    """Where units run never changes what they compute, so a run may resume elsewhere."""
    base = {"name": "t", "domain": {"name": "x"}, "agent": {"name": "y"}}
    local = spec_from_dict({**base, "executor": {"name": "local", "workers": 2}})
    serial = spec_from_dict({**base, "executor": {"name": "serial"}})
    assert spec_hash(local) == spec_hash(serial)
