"""Concept amplification: push a layer's activation toward a concept and watch the policy.

A causal check of a mined concept (method.md section 5): replace layer ``l``'s
output ``z`` by ``z' = (1 - a) z + a * b * (||z|| / ||v||) v`` and measure, for
each ``a``, how much of the agent's policy lands on the concept's chosen-line
moves; a random direction of the same norm is the control. Needs torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from conceptlab.agents.torch import TorchAgent
from conceptlab.errors import ComponentError, ConceptlabError

__all__ = ["AmplificationError", "amplify", "amplified_policy"]


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
    modules = agent.network.named_layers()
    if layer not in modules:
        raise ComponentError(f"agent {agent.name!r} has no layer {layer!r}; layers: {', '.join(modules)}")
    flat = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(flat))
    if norm == 0.0 or not np.isfinite(norm):
        raise AmplificationError(f"the concept vector must be finite and non-zero (norm {norm!r})")
    direction = torch.from_numpy(flat / norm)

    def hook(_module: torch.nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        size = int(np.prod(output.shape[1:]))
        if size != flat.size:
            raise AmplificationError(
                f"the concept vector has {flat.size} entries but layer {layer!r} outputs "
                f"{tuple(output.shape[1:])} = {size} per state"
            )
        z_norm = output.reshape(output.shape[0], -1).norm(dim=1)
        shape = (-1,) + (1,) * (output.dim() - 1)
        v = direction.to(output.dtype).reshape(output.shape[1:])
        return (1.0 - alpha) * output + alpha * beta * z_norm.reshape(shape) * v

    handle = modules[layer].register_forward_hook(hook)
    try:
        return agent.evaluate(states).policy
    finally:
        handle.remove()


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
