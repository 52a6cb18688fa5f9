"""The plugin manager and the registry: built-ins, switches, and the errors that name culprits."""

from __future__ import annotations

import pytest

from conceptlab.errors import DuplicateComponentError, PluginLoadError, UnknownComponentError
from conceptlab.hookspecs import hookimpl
from conceptlab.plugins import DEFAULT_PLUGINS, REGISTER_HOOKS, get_plugin_manager, get_registry
from conceptlab.testing.tictactoe import TicTacToe


def test_builtins_register_every_kind_through_the_hooks():
    registry = get_registry(autoload=False)
    names = {info.name for info in registry.plugins()}
    assert {f"builtin.{m.rsplit('.', 1)[-1]}" for m in DEFAULT_PLUGINS} <= names
    assert "tictactoe" in registry.names("domain")
    for kind in REGISTER_HOOKS:
        assert registry.names(kind), f"no built-in {kind}"


def test_plugin_info_lists_hooks_and_components():
    registry = get_registry(autoload=False)
    games = next(i for i in registry.plugins() if i.name == "builtin.games")
    assert games.distribution == "conceptlab"
    assert games.hooks == ("register_domains",)
    assert games.components == (("domain", "tictactoe"),)


def test_disable_switch_removes_a_plugin(monkeypatch):
    monkeypatch.setenv("CONCEPTLAB_DISABLE_PLUGINS", "builtin.games")
    registry = get_registry(autoload=False)
    assert "tictactoe" not in registry.names("domain")
    assert "builtin.games" not in {i.name for i in registry.plugins()}


def test_unknown_component_suggests_the_closest_name():
    registry = get_registry(autoload=False)
    with pytest.raises(UnknownComponentError, match=r"did you mean 'tictactoe'\?"):
        registry.get("domain", "tictactoe2")


class _Misspelled:
    @hookimpl
    def register_domain(self):  # the hook is register_domains
        return []


def test_misspelled_hook_is_rejected_naming_the_plugin():
    with pytest.raises(PluginLoadError, match=r"plugin 'typo'.*register_domain"):
        get_plugin_manager(autoload=False, extra_plugins=[("typo", _Misspelled())])


class _Duplicate:
    @hookimpl
    def register_domains(self):
        return [TicTacToe]


def test_duplicate_component_names_name_both_plugins():
    with pytest.raises(DuplicateComponentError, match=r"'builtin.games' and plugin 'dup'"):
        get_registry(autoload=False, extra_plugins=[("dup", _Duplicate())])


class _NotAComponent:
    @hookimpl
    def register_concept_miners(self):
        return [dict]


def test_registering_a_non_component_is_refused():
    with pytest.raises(PluginLoadError, match=r"not a subclass of ConceptMiner"):
        get_registry(autoload=False, extra_plugins=[("bad", _NotAComponent())])


def test_trace_writes_hook_calls(capsys):
    registry = get_registry(autoload=False, trace=True)
    registry.hook.before_stage(run=None, stage="mine")
    err = capsys.readouterr().err
    assert "before_stage" in err and "mine" in err
