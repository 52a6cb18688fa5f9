"""The plugin manager and the registry: built-ins, switches, and the errors that name culprits."""

from __future__ import annotations

import pytest

from conceptlab.errors import ComponentError, DuplicateComponentError, PluginLoadError, UnknownComponentError
from conceptlab.hookspecs import hookimpl
from conceptlab.lazy import LazyComponent
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


class LazyTicTacToe(TicTacToe):
    """Tic-tac-toe under another name, registered by import path."""

    name = "tictactoe-lazy"


class _Lazy:
    """Registers components by import path, some of them wrongly."""

    @hookimpl
    def register_domains(self):
        return [
            LazyComponent("tictactoe-lazy", f"{__name__}:LazyTicTacToe"),
            LazyComponent("misnamed", "conceptlab.testing.tictactoe:TicTacToe"),
            LazyComponent("no-such-class", "conceptlab.testing.tictactoe:NoSuchClass"),
            LazyComponent("not-a-domain", "conceptlab.search.puct:PUCTSearch"),
        ]


def _lazy_registry():
    return get_registry(autoload=False, extra_plugins=[("lazy", _Lazy())])


def test_a_lazy_component_is_listed_without_import_and_checked_on_first_use():
    registry = _lazy_registry()
    assert {"tictactoe-lazy", "misnamed", "no-such-class", "not-a-domain"} <= set(registry.names("domain"))
    assert registry.location("domain", "misnamed") == "conceptlab.testing.tictactoe:TicTacToe"
    with pytest.raises(PluginLoadError, match=r"plugin 'lazy' registered .* as domain 'misnamed', "
                                              r"but the class is named 'tictactoe'"):
        registry.get("domain", "misnamed")


def test_a_lazy_component_whose_import_path_is_wrong_is_unavailable_naming_the_plugin():
    registry = _lazy_registry()
    with pytest.raises(ComponentError, match=r"domain 'no-such-class' \(plugin 'lazy'\) is unavailable: "
                                             r"module 'conceptlab.testing.tictactoe' has no attribute 'NoSuchClass'"):
        registry.get("domain", "no-such-class")
    with pytest.raises(PluginLoadError, match=r"plugin 'lazy' registered .*PUCTSearch.* as a domain, "
                                              r"but it is not a subclass of Domain"):
        registry.get("domain", "not-a-domain")


def test_a_lazy_component_is_imported_once_and_then_is_its_class():
    registry = _lazy_registry()
    cls = registry.get("domain", "tictactoe-lazy")
    assert cls is LazyTicTacToe and registry.loaded("domain", "tictactoe-lazy") is LazyTicTacToe
    assert registry.get("domain", "tictactoe-lazy") is cls


class _Nameless:
    @hookimpl
    def register_searches(self):
        return [LazyComponent("", "conceptlab.search.puct:PUCTSearch")]


def test_a_lazy_component_without_a_name_is_refused_naming_the_plugin():
    with pytest.raises(PluginLoadError, match=r"plugin 'nameless': search LazyComponent\(name='', .* has no 'name'"):
        get_registry(autoload=False, extra_plugins=[("nameless", _Nameless())])


def test_a_lazy_component_needs_a_module_and_a_class():
    with pytest.raises(ValueError, match=r"target 'conceptlab.testing.tictactoe' is not 'package.module:ClassName'"):
        LazyComponent("x", "conceptlab.testing.tictactoe")
