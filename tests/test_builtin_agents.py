"""The ``builtin.agents`` plugin registers ``pvnet``, and names the missing dependency without torch."""

from __future__ import annotations

import pytest

from conceptlab.errors import ComponentError
from conceptlab.hookspecs import hookimpl
from conceptlab.lazy import LazyComponent
from conceptlab.plugins import get_registry
from conceptlab.testing.tictactoe import TicTacToe


class NoTorchPlugin:
    """Registers ``pvnet`` by an import path whose module cannot be imported, as without torch."""

    @hookimpl
    def register_agents(self) -> list[LazyComponent]:
        return [LazyComponent("pvnet", "conceptlab_test_no_such_module.pvnet:PVNetAgent")]


def test_pvnet_without_its_dependency_is_registered_but_unavailable() -> None:
    registry = get_registry(
        autoload=False, disable=["builtin.agents"], extra_plugins=[("no-torch", NoTorchPlugin())]
    )
    assert "pvnet" in registry.names("agent")
    with pytest.raises(
        ComponentError,
        match=r"agent 'pvnet' \(plugin 'no-torch'\) is unavailable: No module named 'conceptlab_test_no_such_module'",
    ):
        registry.create("agent", "pvnet", {}, TicTacToe())


def test_builtin_plugins_register_pvnet_and_puct() -> None:
    registry = get_registry(autoload=False)
    assert registry.provider("agent", "pvnet") == "builtin.agents"
    assert registry.provider("search", "puct") == "builtin.search"
    assert registry.location("agent", "pvnet") == "conceptlab.agents.pvnet:PVNetAgent"
