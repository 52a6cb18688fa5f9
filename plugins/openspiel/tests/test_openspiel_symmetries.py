"""Exact symmetries of OpenSpiel games (Connect Four's mirror) for training augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from conceptlab_openspiel import OpenSpielDomain, OpenSpielParams


def make(game: str) -> OpenSpielDomain:
    return OpenSpielDomain(OpenSpielParams(game=game))


@pytest.mark.parametrize("game", ["connect_four", "connect_four(rows=5,columns=6)"])
def test_the_connect_four_mirror_maps_boards_moves_and_outcomes(game: str) -> None:
    domain = make(game)
    columns = domain.num_actions
    rng = np.random.default_rng(0)
    for _ in range(20):
        state = domain.initial_state()
        while not domain.is_terminal(state):
            [(image, perm)] = domain.symmetries(state)
            np.testing.assert_array_equal(perm, np.arange(columns)[::-1])
            # the image's board is the state's board read right to left
            rows = domain.render_text(state).splitlines()
            assert domain.render_text(image).splitlines() == [row[::-1] for row in rows]
            assert sorted(perm[list(domain.legal_actions(state))]) == list(domain.legal_actions(image))
            np.testing.assert_array_equal(
                domain.encode([image])[0], domain.encode([state])[0][:, :, ::-1]
            )
            state = domain.apply(state, int(rng.choice(list(domain.legal_actions(state)))))
        [(image, _)] = domain.symmetries(state)
        assert domain.is_terminal(image) and domain.returns(image) == domain.returns(state)


@pytest.mark.parametrize("game", ["tic_tac_toe", "breakthrough(rows=6,columns=6)", "hex(board_size=5)"])
def test_games_without_a_declared_symmetry_have_none(game: str) -> None:
    domain = make(game)
    assert list(domain.symmetries(domain.initial_state())) == []
