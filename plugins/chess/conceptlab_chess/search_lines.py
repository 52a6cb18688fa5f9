"""What a search knows about a position, in the terms a UCI ``info`` line uses.

A :class:`SearchSummary` gives the depth and selective depth of the tree, the
simulations behind it, and the best lines (one per ``MultiPV`` line), each with
its value for the player to move and, where the tree proves it, the distance to
mate. It reads the core's PUCT tree (:class:`conceptlab.search.puct.Node`);
for another search, or a player without one, it falls back to what the
:class:`~conceptlab.values.SearchResult` or the decision says.

Mates are proven by minimax over the part of the tree the search built, with
terminal states as exact values: a position is won when one move leads to a
lost position for the opponent (the fastest such win counts), and lost when
every legal move has been searched and each leads to a won position for the
opponent (the slowest such loss counts). Only then is a ``mate`` score given;
otherwise the score is the search's mean value (``cp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from conceptlab.values import Action, SearchResult

__all__ = ["Line", "SearchSummary", "mate_in_moves", "summarise"]

Plies = int
"""A count of half-moves."""


@dataclass(frozen=True)
class Line:
    """One line of play from the root, as a ``MultiPV`` entry shows it."""

    moves: tuple[Action, ...]
    """The first move and the search's most-visited continuation."""
    value: float
    """The first move's mean value in ``[-1, 1]`` for the player to move at the root."""
    mate_plies: Plies | None = None
    """Half-moves to a proven mate: positive when the player to move mates, negative when
    it is mated; ``None`` when the tree proves no mate."""
    visits: int = 0
    """Simulations through the first move."""


@dataclass(frozen=True)
class SearchSummary:
    """Depths, size and best lines of a search, for a UCI ``info`` line."""

    depth: int
    """Mean depth of the tree's nodes, rounded (at least 1): it grows as the search deepens."""
    seldepth: int
    """Depth of the deepest node (at least ``depth``)."""
    nodes: int
    """Simulations behind the root's statistics."""
    lines: tuple[Line, ...]
    """Best lines first (by visits), at most the ``multipv`` asked for."""


def mate_in_moves(plies: Plies) -> int:
    """UCI's ``score mate N`` of a mate ``plies`` half-moves away (negative: being mated).

    Mating with the next move is ``mate 1`` (1 ply); being mated after one's next
    move is ``mate -1`` (2 plies).
    """
    return (plies + 1) // 2 if plies > 0 else -(-plies // 2)


def summarise(result: SearchResult[Any] | None, multipv: int, *, value: float = 0.0,
              principal_variation: tuple[Action, ...] = (), nodes: int = 0) -> SearchSummary:
    """The summary of ``result``; without one, a single line from the other arguments.

    Args:
        result: The search's result so far (its ``tree`` is read when it is a PUCT node).
        multipv: Lines wanted (at least 1).
        value: Without ``result``: the value of the only line.
        principal_variation: Without ``result``: the moves of the only line.
        nodes: Without ``result``: simulations to report.
    """
    if result is None:
        depth = max(len(principal_variation), 1)
        return SearchSummary(depth, depth, nodes, (Line(principal_variation, value),))
    from conceptlab.search.puct import Node

    root = result.tree
    if not isinstance(root, Node) or not root.expanded:
        return _from_result(result, multipv)
    return _from_tree(root, multipv)


def _from_result(result: SearchResult[Any], multipv: int) -> SearchSummary:
    """Lines from the root statistics only: continuations for the best line alone."""
    visits = np.asarray(result.visit_counts)
    order = [int(i) for i in np.lexsort((-np.asarray(result.priors), -visits)) if visits[i] > 0]
    lines = []
    for rank, i in enumerate(order[: max(multipv, 1)]):
        action = int(result.actions[i])
        pv = tuple(result.principal_variation) if rank == 0 and result.principal_variation[:1] == (action,) else (action,)
        q = float(result.q_values[i])
        lines.append(Line(pv, q if math.isfinite(q) else float(result.root_value), None, int(visits[i])))
    if not lines:
        lines.append(Line((int(result.chosen_action),), float(result.root_value)))
    depth = max(len(lines[0].moves), 1)
    return SearchSummary(depth, depth, int(visits.sum()), tuple(lines))


def _from_tree(root: Any, multipv: int) -> SearchSummary:
    from conceptlab.search.puct import most_visited, principal_variation

    count, depth_sum, deepest = 0, 0, 0
    stack = [(child, 1) for child in root.children if child is not None]
    while stack:
        node, depth = stack.pop()
        count += 1
        depth_sum += depth
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children if child is not None)
    visits = root.visits
    q_values = root.q_values()
    order = [int(i) for i in np.lexsort((-root.priors, -visits)) if visits[i] > 0]
    if not order:
        order = [most_visited(root)]
    lines = []
    memo: dict[int, Proof | None] = {}
    for i in order[: max(multipv, 1)]:
        child = root.children[i]
        continuation = principal_variation(child) if child is not None and child.expanded else ()
        try:
            proof = _edge_proof(root, i, memo)
        except RecursionError:  # a forced line deeper than Python's stack: report no mate
            proof = None
        mate = None if proof is None or proof[0] == 0 else proof[0] * proof[1]
        q = float(q_values[i])
        lines.append(Line((int(root.actions[i]), *continuation), q if math.isfinite(q) else root.value, mate,
                          int(visits[i])))
    mean_depth = max(int(round(depth_sum / count)), 1) if count else 1
    return SearchSummary(mean_depth, max(deepest, mean_depth), int(visits.sum()), tuple(lines))


Proof = tuple[int, Plies]
"""(outcome for the player to move: 1 won, 0 drawn, -1 lost; half-moves to the end)."""


def _edge_proof(node: Any, i: int, memo: dict[int, Proof | None]) -> Proof | None:
    """The proven outcome of playing edge ``i`` at ``node``, for ``node``'s player."""
    child = node.children[i]
    if child is None:
        return None
    if child.terminal:
        final = child.returns[node.player]
        return (int(np.sign(final)), 1)
    proof = _node_proof(child, memo)
    if proof is None:
        return None
    outcome = proof[0] if child.player == node.player else -proof[0]
    return (outcome, proof[1] + 1)


def _node_proof(node: Any, memo: dict[int, Proof | None]) -> Proof | None:
    """The proven outcome at the expanded ``node`` for its player, or ``None``.

    Won: some move wins (the fastest win). Lost or drawn: every move is searched
    and proven (the best of them; the slowest loss). Positions where a move is
    not yet in the tree can only be proven won, so most of the tree is skipped.
    """
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = None  # a tree has no cycles; this only guards against revisits
    if not node.expanded:
        return None
    complete = all(child is not None for child in node.children)
    fastest_win: Plies | None = None
    proofs: list[Proof] = []
    for i, child in enumerate(node.children):
        if child is None:
            continue
        if not complete and not child.terminal and not _may_be_lost(child, node):
            continue
        proof = _edge_proof(node, i, memo)
        if proof is None:
            if complete:
                complete = False
            continue
        if proof[0] > 0:
            fastest_win = proof[1] if fastest_win is None else min(fastest_win, proof[1])
        proofs.append(proof)
    if fastest_win is not None:
        result: Proof | None = (1, fastest_win)
    elif complete and len(proofs) == len(node.children):
        best = max(outcome for outcome, _ in proofs)
        plies = [p for outcome, p in proofs if outcome == best]
        result = (best, max(plies) if best < 0 else min(plies))
    else:
        result = None
    memo[key] = result
    return result


def _may_be_lost(child: Any, parent: Any) -> bool:
    """Whether ``child`` could be proven won for ``parent``'s player: the opponent moves
    there, so every move of the child must be in the tree."""
    if not child.expanded:
        return False
    if child.player != parent.player:
        return all(grandchild is not None for grandchild in child.children)
    return True
