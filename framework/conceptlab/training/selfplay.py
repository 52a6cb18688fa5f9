"""Self-play building blocks: play a game with search, keep positions, fit, and measure.

One training iteration is ``play_game`` (or ``play_games``) to fill a
:class:`ReplayBuffer`, then ``train_on_buffer``. Each function takes its
randomness from an ``rng`` (or a ``seed``) argument only, so an iteration's
result depends on the previous checkpoint, the previous buffer and the seed,
and a killed run that reloads both reaches the same result. All functions are
top-level and their arguments picklable, so they run under a process pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.arrays import save_npz
from conceptlab.errors import CheckpointError, ComponentError
from conceptlab.interfaces import Agent, Domain, Search, TrainableAgent
from conceptlab.values import Action, Player

__all__ = [
    "GameRecord",
    "MatchScore",
    "ReplayBuffer",
    "play_game",
    "play_games",
    "play_match",
    "symmetric_images",
    "train_on_buffer",
]

BUFFER_FORMAT = "conceptlab-replay/1"


@dataclass(frozen=True, repr=False)
class GameRecord:
    """One self-play game: every position searched, and how the game ended."""

    states: tuple[Any, ...]
    """The positions where a move was searched, in order (the final position is not included)."""
    actions: np.ndarray
    """``(n,)`` int64 move played at each position."""
    visit_distributions: np.ndarray
    """``(n, num_actions)`` float32 root visit counts of each search, normalised to sum to 1."""
    players: np.ndarray
    """``(n,)`` int64 player to move at each position."""
    final_returns: tuple[float, float]
    """Each player's score at the end (``0, 0`` when the game was cut off at ``max_moves``)."""
    value_targets: np.ndarray
    """``(n,)`` float32 value target of each position: the final score of the player to
    move there, or its mix with ``root_values`` (``play_game``'s ``value_mix``)."""
    terminated: bool
    """Whether the game reached a terminal state (rather than ``max_moves``)."""
    root_values: np.ndarray | None = None
    """``(n,)`` float32 root value of each search for the player to move, when known."""

    def __len__(self) -> int:
        return len(self.states)

    def __repr__(self) -> str:
        return (
            f"GameRecord(moves={len(self.states)}, final_returns={self.final_returns!r}, "
            f"terminated={self.terminated!r})"
        )


def play_game(
    domain: Domain[Any],
    agent: Agent[Any],
    search: Search[Any],
    start_state: Any,
    rng: np.random.Generator,
    *,
    max_moves: int,
    temperature_moves: int,
    temperature: float = 1.0,
    add_noise: bool = True,
    reuse_tree: bool = True,
    value_mix: float = 0.0,
) -> GameRecord:
    """Play one self-play game from ``start_state``, searching every move.

    Args:
        domain: The game.
        agent: Gives the search its priors and values (plays both sides).
        search: Searches each position.
        start_state: Where the game starts (e.g. one of ``domain.opening_states``).
        rng: The only source of randomness (root noise and move sampling).
        max_moves: Moves after which an unfinished game is scored as a draw.
        temperature_moves: The first this many moves are sampled at
            ``temperature``; later moves play the most-visited action.
        temperature: Sampling temperature of the early moves.
        add_noise: Dirichlet noise at every root (AlphaZero self-play).
        reuse_tree: Pass the searched subtree of the played move to the next search.
        value_mix: Weight ``w`` of the search's root value in the value targets:
            ``(1 - w) * outcome + w * root value``, both for the player to move
            (0: the outcome alone, as in AlphaZero).
    """
    if max_moves < 1:
        raise ComponentError(f"play_game: max_moves must be >= 1 (got {max_moves!r})")
    if not 0.0 <= value_mix <= 1.0:
        raise ComponentError(f"play_game: value_mix must be in [0, 1] (got {value_mix!r})")
    states: list[Any] = []
    actions: list[Action] = []
    visits: list[np.ndarray] = []
    players: list[Player] = []
    root_values: list[float] = []
    state, tree = start_state, None
    while not domain.is_terminal(state) and len(states) < max_moves:
        t = temperature if len(states) < temperature_moves else 0.0
        result = search.run(state, agent, rng, tree=tree, add_noise=add_noise, temperature=t)
        states.append(state)
        actions.append(result.chosen_action)
        visits.append(result.visit_distribution(domain.num_actions))
        players.append(int(domain.current_player(state)))
        root_values.append(float(result.root_value))
        tree = search.advance(result, result.chosen_action) if reuse_tree else None
        state = domain.apply(state, result.chosen_action)
    terminated = bool(domain.is_terminal(state))
    final = tuple(float(r) for r in domain.returns(state)) if terminated else (0.0, 0.0)
    searched = np.asarray(root_values, dtype=np.float32)
    targets = np.asarray([final[p] for p in players], dtype=np.float32)
    if value_mix > 0:
        targets = ((1.0 - value_mix) * targets + value_mix * searched).astype(np.float32)
    return GameRecord(
        states=tuple(states),
        actions=np.asarray(actions, dtype=np.int64),
        visit_distributions=np.asarray(visits, dtype=np.float32).reshape(-1, domain.num_actions),
        players=np.asarray(players, dtype=np.int64),
        final_returns=(final[0], final[1]),
        value_targets=targets,
        terminated=terminated,
        root_values=searched,
    )


def play_games(
    domain: Domain[Any],
    agent: Agent[Any],
    search: Search[Any],
    *,
    games: int,
    seed: int,
    max_moves: int,
    temperature_moves: int,
    temperature: float = 1.0,
    value_mix: float = 0.0,
) -> list[GameRecord]:
    """``games`` self-play games from ``domain.opening_states``, all drawn from ``seed``.

    A unit of work for a process pool: the result depends only on the arguments.
    """
    rng = np.random.default_rng(seed)
    openings = domain.opening_states(games, rng)
    return [
        play_game(
            domain, agent, search, opening, rng,
            max_moves=max_moves, temperature_moves=temperature_moves, temperature=temperature,
            value_mix=value_mix,
        )
        for opening in openings
    ]


class ReplayBuffer:
    """The most recent self-play positions with their search policies and outcomes.

    Positions are kept first-in first-out up to ``capacity``. States are stored
    in the domain's text form, so ``save`` writes a plain ``.npz`` file (no
    pickles) that ``load`` reads back exactly.

    Args:
        domain: Reads and writes the states' text form.
        capacity: The most positions kept.
    """

    def __init__(self, domain: Domain[Any], capacity: int) -> None:
        if capacity < 1:
            raise ComponentError(f"ReplayBuffer: capacity must be >= 1 (got {capacity!r})")
        self.domain = domain
        self.capacity = capacity
        self.games_added = 0
        """Games added since the buffer was made (kept across save and load)."""
        self._states: list[Any] = []
        self._policies = np.zeros((0, domain.num_actions), dtype=np.float32)
        self._values = np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._states)

    def add(self, game: GameRecord) -> None:
        """Append a game's positions, dropping the oldest beyond ``capacity``."""
        self._states.extend(game.states)
        self._policies = np.concatenate([self._policies, game.visit_distributions])
        self._values = np.concatenate([self._values, game.value_targets])
        self.games_added += 1
        excess = len(self._states) - self.capacity
        if excess > 0:
            del self._states[:excess]
            self._policies = self._policies[excess:]
            self._values = self._values[excess:]

    def arrays(self) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """``(states, policy_targets (n, num_actions), value_targets (n,))`` for fitting."""
        return list(self._states), self._policies.copy(), self._values.copy()

    def save(self, path: str | Path) -> None:
        """Write the buffer to ``path`` (``.npz``) atomically, with stable bytes."""
        save_npz(
            path,
            format=np.asarray(BUFFER_FORMAT),
            domain=np.asarray(self.domain.name),
            capacity=np.asarray(self.capacity),
            games_added=np.asarray(self.games_added),
            states=np.asarray([self.domain.to_text(s) for s in self._states], dtype=str),
            policies=self._policies,
            values=self._values,
        )

    def load(self, path: str | Path) -> ReplayBuffer:
        """Replace the contents with those saved at ``path``; returns ``self``.

        Raises:
            CheckpointError: The file is missing, not a replay buffer, or of another domain.
        """
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"replay buffer not found: {str(path)!r}")
        try:
            with np.load(path, allow_pickle=False) as data:
                saved = {key: data[key] for key in data.files}
        except Exception as exc:  # numpy raises several types for a damaged file
            raise CheckpointError(f"replay buffer {str(path)!r} is corrupt: {exc}") from None
        if str(saved.get("format", "")) != BUFFER_FORMAT:
            raise CheckpointError(f"{str(path)!r} is not a {BUFFER_FORMAT} file")
        if str(saved["domain"]) != self.domain.name:
            raise CheckpointError(
                f"replay buffer {str(path)!r} holds {str(saved['domain'])!r} positions, "
                f"not {self.domain.name!r}"
            )
        self.capacity = int(saved["capacity"])
        self.games_added = int(saved["games_added"])
        self._states = [self.domain.from_text(str(text)) for text in saved["states"]]
        self._policies = saved["policies"].astype(np.float32).reshape(-1, self.domain.num_actions)
        self._values = saved["values"].astype(np.float32)
        return self


def symmetric_images(
    domain: Domain[Any], states: Sequence[Any], policies: np.ndarray, values: np.ndarray
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """The positions followed by their images under ``domain.symmetries``.

    Each image keeps its position's value target and takes its policy target
    with the actions mapped: ``image_policy[perm[a]] = policy[a]``.

    Raises:
        ComponentError: The domain declares no symmetry.
    """
    images: list[Any] = []
    image_policies: list[np.ndarray] = []
    image_values: list[float] = []
    declared = False
    for state, policy, value in zip(states, policies, values, strict=True):
        for image, perm in domain.symmetries(state):
            declared = True
            mapped = np.zeros_like(policy)
            mapped[np.asarray(perm, dtype=np.int64)] = policy
            images.append(image)
            image_policies.append(mapped)
            image_values.append(float(value))
    if not declared and len(states):
        raise ComponentError(
            f"domain {domain.name!r} declares no symmetries of these positions; "
            "turn stages.train.symmetries off"
        )
    if not images:
        return list(states), policies, values
    return (
        list(states) + images,
        np.concatenate([policies, np.asarray(image_policies, dtype=policies.dtype)]),
        np.concatenate([values, np.asarray(image_values, dtype=values.dtype)]),
    )


def train_on_buffer(
    agent: TrainableAgent[Any],
    buffer: ReplayBuffer,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    rng: np.random.Generator,
    symmetries: bool = False,
) -> dict[str, float]:
    """Fit ``agent`` to the buffer's search policies and outcomes; the last epoch's mean losses.

    With ``symmetries``, the agent also fits every position's images under the
    domain's exact symmetries (:meth:`Domain.symmetries`, see :func:`symmetric_images`).
    """
    if len(buffer) == 0:
        raise ComponentError("train_on_buffer: the replay buffer is empty; play games first")
    states, policies, values = buffer.arrays()
    if symmetries:
        states, policies, values = symmetric_images(buffer.domain, states, policies, values)
    losses = agent.fit(
        states, policies, values,
        epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, rng=rng,
    )
    return {name: float(value) for name, value in losses.items()}


@dataclass(frozen=True)
class MatchScore:
    """Result of a match, from the first player's (``agent_a``'s) side."""

    wins: int
    draws: int
    losses: int

    @property
    def games(self) -> int:
        """Games played."""
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """``(wins + draws / 2) / games``: 1 for a clean sweep, 0.5 for even."""
        return (self.wins + 0.5 * self.draws) / max(self.games, 1)


def _choose(
    domain: Domain[Any], agent: Agent[Any] | None, search: Search[Any] | None,
    state: Any, rng: np.random.Generator,
) -> Action:
    """A uniformly random legal move without agent; the search's or the policy's best with one."""
    legal = list(domain.legal_actions(state))
    if agent is None:
        return int(legal[rng.integers(len(legal))])
    if search is not None:
        return search.run(state, agent, rng).chosen_action
    policy = agent.evaluate([state]).policy[0]
    return int(max(legal, key=lambda a: (float(policy[a]), -a)))


def play_match(
    domain: Domain[Any],
    agent_a: Agent[Any],
    agent_b: Agent[Any] | None,
    search: Search[Any] | None,
    games: int,
    rng: np.random.Generator,
    *,
    max_moves: int = 512,
    start_states: Sequence[Any] | None = None,
) -> MatchScore:
    """Play ``agent_a`` against ``agent_b`` (``None``: a uniformly random player).

    The sides alternate: ``agent_a`` moves first in even-numbered games. Agents
    play the move ``search`` chooses (no noise, temperature 0), or their
    policy's most likely move when ``search`` is ``None``. Games start from
    ``start_states`` in turn (default: the initial state); unfinished games after
    ``max_moves`` are draws.
    """
    if games < 1:
        raise ComponentError(f"play_match: games must be >= 1 (got {games!r})")
    starts = list(start_states) if start_states else [domain.initial_state()]
    tally = {1: 0, 0: 0, -1: 0}
    for g in range(games):
        state = starts[g % len(starts)]
        first = int(domain.current_player(state))
        a_side = first if g % 2 == 0 else 1 - first
        moves = 0
        while not domain.is_terminal(state) and moves < max_moves:
            mover = agent_a if domain.current_player(state) == a_side else agent_b
            state = domain.apply(state, _choose(domain, mover, search, state, rng))
            moves += 1
        outcome = domain.returns(state)[a_side] if domain.is_terminal(state) else 0.0
        tally[int(np.sign(outcome))] += 1
    return MatchScore(wins=tally[1], draws=tally[0], losses=tally[-1])
