"""The ``builtin.agents`` plugin registers ``pvnet``, and names the missing dependency without torch."""

from __future__ import annotations

import pytest

from conceptlab.builtin.agents import _unavailable
from conceptlab.errors import ComponentError
from conceptlab.hookspecs import hookimpl
from conceptlab.plugins import get_registry
from conceptlab.testing.tictactoe import TicTacToe


class NoTorchPlugin:
    """What ``builtin.agents`` registers when torch cannot be imported."""

    @hookimpl
    def register_agents(self) -> list[type]:
        return [_unavailable("pvnet", ImportError("No module named 'torch'"))]


def test_pvnet_without_torch_is_registered_but_unavailable() -> None:
    registry = get_registry(
        autoload=False, disable=["builtin.agents"], extra_plugins=[("no-torch", NoTorchPlugin())]
    )
    assert "pvnet" in registry.names("agent")
    with pytest.raises(ComponentError, match="'pvnet'.*unavailable: No module named 'torch'"):
        registry.create("agent", "pvnet", {}, TicTacToe())


def test_builtin_plugins_register_pvnet_and_puct() -> None:
    registry = get_registry(autoload=False)
    assert registry.provider("agent", "pvnet") == "builtin.agents"
    assert registry.provider("search", "puct") == "builtin.search"
