"""Concept amplification: push a layer's activation toward a concept and watch the policy.

A causal check of a mined concept (method.md sections 5 and 8), two ways:

- :func:`causal_test` intervenes and compares with a null: it adds the concept,
  ``z' = z + e * ||z|| * v / ||v||``, and removes it, ``z' = z - (z . u) u`` with
  ``u = v / ||v||``, and measures the change in the policy's mass on target
  actions against the same interventions along random directions, with an
  empirical p-value for each;
- :func:`amplify` is the paper's interpolation ``z' = (1 - a) z + a * b *
  (||z|| / ||v||) v`` per ``a``, beside one random direction of the same norm
  (with ``b = 0.01`` it mostly shrinks ``z``; kept as an option).

Needs torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from conceptlab.agents.torch import TorchAgent
from conceptlab.errors import ComponentError, ConceptlabError

__all__ = ["AmplificationError", "amplified_policy", "amplify", "causal_test", "intervened_policy"]


class AmplificationError(ConceptlabError):
    """Arguments to :func:`amplify` that do not fit together (sizes, targets, alphas)."""


def _target_mask(target_actions: Sequence[int | Iterable[int]], states: int, actions: int) -> np.ndarray:
    """``(states, actions)`` bool mask of each state's target action(s)."""
    if len(target_actions) != states:
        raise AmplificationError(
            f"target_actions has {len(target_actions)} entries for {states} states; give one "
            "action (or a set of actions) per state"
        )
    mask = np.zeros((states, actions), dtype=bool)
    for i, targets in enumerate(target_actions):
        chosen = [targets] if isinstance(targets, (int, np.integer)) else list(targets)
        for action in chosen:
            if not 0 <= int(action) < actions:
                raise AmplificationError(
                    f"target_actions[{i}] = {action!r} is not an action index in [0, {actions})"
                )
            mask[i, int(action)] = True
    return mask


def amplified_policy(
    agent: TorchAgent[Any], states: Sequence[Any], layer: str, vector: np.ndarray,
    alpha: float, beta: float,
) -> np.ndarray:
    """The agent's ``(len(states), num_actions)`` policy with ``layer``'s output amplified.

    A forward hook on ``agent.network.named_layers()[layer]`` returns, per state,
    ``(1 - alpha) z + alpha * beta * (||z|| / ||v||) v`` with ``v`` reshaped to the
    layer's output shape; the hook is removed before returning.

    Raises:
        ComponentError: The agent has no layer ``layer``.
        AmplificationError: ``vector`` is zero or its size is not the layer's.
    """
    def mix(z: torch.Tensor, z_norm: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return (1.0 - alpha) * z + alpha * beta * z_norm * u

    return intervened_policy(agent, states, layer, vector, mix)


def _unit(vector: np.ndarray) -> np.ndarray:
    flat = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(flat))
    if norm == 0.0 or not np.isfinite(norm):
        raise AmplificationError(f"the concept vector must be finite and non-zero (norm {norm!r})")
    return flat / norm


def intervened_policy(
    agent: TorchAgent[Any], states: Sequence[Any], layer: str, vector: np.ndarray,
    change: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> np.ndarray:
    """The agent's ``(len(states), num_actions)`` policy with ``layer``'s output changed.

    A forward hook on ``agent.network.named_layers()[layer]`` replaces the output
    ``z`` by ``change(z, ||z||, u)``, where ``||z||`` is per state (broadcastable)
    and ``u = vector / ||vector||`` is in the layer's output shape; the hook is
    removed before returning.

    Raises:
        ComponentError: The agent has no layer ``layer``.
        AmplificationError: ``vector`` is zero or its size is not the layer's.
    """
    modules = agent.network.named_layers()
    if layer not in modules:
        raise ComponentError(f"agent {agent.name!r} has no layer {layer!r}; layers: {', '.join(modules)}")
    unit = _unit(vector)
    direction = torch.from_numpy(unit)

    def hook(_module: torch.nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        size = int(np.prod(output.shape[1:]))
        if size != unit.size:
            raise AmplificationError(
                f"the concept vector has {unit.size} entries but layer {layer!r} outputs "
                f"{tuple(output.shape[1:])} = {size} per state"
            )
        z_norm = output.reshape(output.shape[0], -1).norm(dim=1)
        shape = (-1,) + (1,) * (output.dim() - 1)
        u = direction.to(output.dtype).reshape(output.shape[1:])
        return change(output, z_norm.reshape(shape), u)

    handle = modules[layer].register_forward_hook(hook)
    try:
        return agent.evaluate(states).policy
    finally:
        handle.remove()


def _added(epsilon: float) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
    return lambda z, z_norm, u: z + epsilon * z_norm * u


def _ablated(z: torch.Tensor, _z_norm: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    dims = tuple(range(1, z.dim()))
    projection = (z * u).sum(dim=dims, keepdim=True)
    return z - projection * u


def causal_test(
    agent: TorchAgent[Any],
    states: Sequence[Any],
    layer: str,
    vector: np.ndarray,
    *,
    target_actions: Sequence[int | Iterable[int]],
    epsilon: float = 1.0,
    random_directions: int = 20,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Add and remove ``vector`` in ``layer``; compare the change in target mass with random directions.

    Args:
        agent: The agent (its network is hooked, never modified).
        states: Positions to intervene on (held out from mining, where possible).
        layer: A name from ``agent.layer_names``.
        vector: The concept, flattened or in the layer's output shape.
        target_actions: Per state, the move(s) whose policy mass is measured.
        epsilon: ``e`` in ``z + e * ||z|| * v / ||v||``.
        random_directions: Random directions (normal, normalised) that make the null.
        rng: Draws the random directions.

    Returns:
        ``{"layer", "num_states", "epsilon", "random_directions", "target_mass"`` (unmodified),
        ``"added": {"gain", "null_mean", "null_sd", "p_value"}``, ``"ablated": {"drop",
        ...}}``: the mean change in target mass when the concept is added (gain) or
        its projection removed (drop), the null directions' mean and sd of the same
        change, and the empirical p-value ``(1 + #null >= concept) / (1 + n)``.

    Raises:
        ComponentError: The agent has no layer ``layer``.
        AmplificationError: Sizes or targets do not fit, or no random direction is asked for.
    """
    if not states:
        raise AmplificationError("causal_test needs at least one state")
    if random_directions < 1:
        raise AmplificationError(f"random_directions must be at least 1, got {random_directions!r}")
    mask = _target_mask(target_actions, len(states), agent.domain.num_actions)
    unit = _unit(vector)

    def mass(policy: np.ndarray) -> float:
        return float(np.mean(np.sum(policy * mask, axis=1)))

    base = mass(agent.evaluate(states).policy)

    def effects(direction: np.ndarray) -> tuple[float, float]:
        gain = mass(intervened_policy(agent, states, layer, direction, _added(epsilon))) - base
        drop = base - mass(intervened_policy(agent, states, layer, direction, _ablated))
        return gain, drop

    gain, drop = effects(unit)
    null = np.array([effects(rng.normal(size=unit.size)) for _ in range(random_directions)])

    def summary(observed: float, column: np.ndarray, name: str) -> dict[str, float]:
        return {
            name: observed, "null_mean": float(column.mean()), "null_sd": float(column.std()),
            "p_value": float((1 + np.sum(column >= observed)) / (1 + len(column))),
        }

    return {
        "layer": layer, "num_states": len(states), "epsilon": float(epsilon),
        "random_directions": random_directions, "target_mass": base,
        "added": summary(gain, null[:, 0], "gain"), "ablated": summary(drop, null[:, 1], "drop"),
    }


def _measure(policies: list[np.ndarray], mask: np.ndarray) -> dict[str, list[float]]:
    mass = [float(np.mean(np.sum(p * mask, axis=1))) for p in policies]
    top1 = [float(np.mean(mask[np.arange(len(mask)), p.argmax(axis=1)])) for p in policies]
    return {"target_mass": mass, "top1_match": top1}


def amplify(
    agent: TorchAgent[Any],
    states: Sequence[Any],
    layer: str,
    vector: np.ndarray,
    *,
    alphas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    beta: float = 0.01,
    target_actions: Sequence[int | Iterable[int]],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Amplify ``vector`` in ``layer`` and measure the policy on the target actions.

    Args:
        agent: The agent (its network is hooked, never modified).
        states: Concept-related positions, e.g. the concept's prototypes.
        layer: A name from ``agent.layer_names``.
        vector: The concept, flattened or in the layer's output shape.
        alphas: Mixing weights ``a`` in ``[0, 1]``; ``0`` is the unmodified agent.
        beta: ``b``, the scale of the concept relative to ``||z||`` (method.md: 0.01).
        target_actions: Per state, the concept's chosen-line move (or several).
        rng: Draws the random control direction (same norm as ``vector``).

    Returns:
        ``{"layer", "alphas", "beta", "num_states", "concept": {"target_mass": [...],
        "top1_match": [...]}, "random": {...}, "target_mass_gain": [...]}`` where
        each list has one entry per alpha: the mean policy mass on the target
        actions, the fraction of states whose top move is a target, and the
        concept's mass minus the random direction's.

    Raises:
        ComponentError: The agent has no layer ``layer``.
        AmplificationError: Sizes or targets do not fit, or an alpha is outside ``[0, 1]``.
    """
    if not states:
        raise AmplificationError("amplify needs at least one state")
    bad = [a for a in alphas if not 0.0 <= float(a) <= 1.0]
    if bad or not alphas:
        raise AmplificationError(f"alphas must be a non-empty list of values in [0, 1], got {list(alphas)!r}")
    mask = _target_mask(target_actions, len(states), agent.domain.num_actions)
    flat = np.asarray(vector, dtype=np.float64).reshape(-1)
    random = rng.normal(size=flat.size)
    random *= np.linalg.norm(flat) / np.linalg.norm(random)
    concept = [amplified_policy(agent, states, layer, flat, float(a), beta) for a in alphas]
    control = [amplified_policy(agent, states, layer, random, float(a), beta) for a in alphas]
    concept_scores, random_scores = _measure(concept, mask), _measure(control, mask)
    return {
        "layer": layer,
        "alphas": [float(a) for a in alphas],
        "beta": float(beta),
        "num_states": len(states),
        "concept": concept_scores,
        "random": random_scores,
        "target_mass_gain": [
            c - r for c, r in zip(concept_scores["target_mass"], random_scores["target_mass"], strict=True)
        ],
    }
