"""Several precisions measured in one run: interleaved rounds, each precision's best, their ratios.

A speed-up of bf16 over fp32 measured by two separate commands mixes the
precision with whatever the machine did between them. Here each round measures
every precision in turn on the same agent (its precision switched between
them), in the given order in even rounds and the reverse in odd ones, so that
neither a slow spell of a shared machine nor a drift within a round favours one
precision; each rate is the best of its rounds, as ``timeit`` does, and each
ratio is given as the ratio of those bests and as the lowest and highest ratio
within a round.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conceptlab.errors import ParamsError
from conceptlab.precision import PrecisionChoice, check_precision, resolve_precision

__all__ = ["check_comparable", "compare_precisions", "parse_precisions"]


def check_comparable(agent: Any, rounds: int) -> None:
    """Refuse, before anything is measured, an agent without a precision setting or no rounds.

    Raises:
        ParamsError: The agent lacks ``set_precision`` or ``precision``, or ``rounds < 1`` (``--repeats``).
    """
    if not (hasattr(agent, "set_precision") and hasattr(agent, "precision")):
        raise ParamsError(f"agent {getattr(agent, 'name', agent)!r} has no precision setting to compare")
    if rounds < 1:
        raise ParamsError(f"comparing precisions needs --repeats >= 1 rounds (got {rounds!r})")


def parse_precisions(text: str) -> list[PrecisionChoice]:
    """The comma-separated precisions of ``text`` (``fp32``, ``bf16``, ``auto``), resolved on this machine.

    Raises:
        PrecisionError: An entry is not a precision.
        ParamsError: The list is empty, or two entries resolve to the same precision.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ParamsError(f"--precisions: no precision in {text!r}; give e.g. fp32,bf16")
    choices = [resolve_precision(check_precision(name, "--precisions")) for name in names]
    used = [choice.used for choice in choices]
    if len(set(used)) != len(used):
        raise ParamsError(
            f"--precisions {text!r} measures one precision twice ({', '.join(used)} once resolved)"
        )
    return choices


def compare_precisions(
    agent: Any,
    precisions: Sequence[str],
    rounds: int,
    measure: Callable[[], Mapping[str, Any]],
    rates: Sequence[str],
    keep: Sequence[str] = (),
    spreads: Sequence[str] = (),
) -> dict[str, Any]:
    """Measure ``agent`` in each of ``precisions`` (``fp32`` / ``bf16``), interleaved over ``rounds``.

    Args:
        agent: An agent with ``set_precision`` and a ``precision`` attribute; its
            precision is restored afterwards.
        precisions: The precisions to compare, resolved; the first is the base of the ratios.
        rounds: Rounds; each measures every precision once, in the order given
            (even rounds) or its reverse (odd rounds).
        measure: One measurement of ``agent`` as it is set (e.g. ``bench_search`` with one repeat).
        rates: Keys of ``measure``'s figures that are rates (higher is faster).
        keep: Keys of ``measure``'s figures that describe the work, alike in every
            measurement (e.g. ``positions``): copied from the first.
        spreads: Keys of other figures, each taken within one measurement (e.g. a
            ratio of two of its rates): per precision, their median, lowest and highest.

    Returns:
        The ``keep`` figures, ``rounds``, and for each precision ``p`` and rate ``r``:
        ``p_r`` (the best round) and ``p_r_min`` (the slowest); for each precision
        ``p`` and spread figure ``f``: ``p_f`` (median of the rounds), ``p_f_min``
        and ``p_f_max``; for each precision
        ``p`` after the first (``base``): ``r_p_over_base`` (ratio of the bests),
        ``r_p_over_base_min`` and ``_max`` (the extreme per-round ratios).

    Raises:
        ParamsError: The agent has no precision setting, ``rounds < 1`` or no precision is given.
    """
    check_comparable(agent, rounds)
    if not precisions:
        raise ParamsError("comparing precisions needs at least one precision")
    original = agent.precision
    measured: dict[str, list[Mapping[str, Any]]] = {p: [] for p in precisions}
    try:
        for round_index in range(rounds):
            for precision in (precisions if round_index % 2 == 0 else list(reversed(precisions))):
                agent.set_precision(precision)
                measured[precision].append(measure())
    finally:
        agent.set_precision(original)
    first = measured[precisions[0]][0]
    figures: dict[str, Any] = {key: first[key] for key in keep}
    figures["rounds"] = rounds
    for precision in precisions:
        for rate in rates:
            values = [float(row[rate]) for row in measured[precision]]
            figures[f"{precision}_{rate}"] = max(values)
            figures[f"{precision}_{rate}_min"] = min(values)
        for key in spreads:
            values = [float(row[key]) for row in measured[precision]]
            figures[f"{precision}_{key}"] = statistics.median(values)
            figures[f"{precision}_{key}_min"] = min(values)
            figures[f"{precision}_{key}_max"] = max(values)
    base = precisions[0]
    for precision in precisions[1:]:
        for rate in rates:
            per_round = [
                float(row[rate]) / float(base_row[rate])
                for row, base_row in zip(measured[precision], measured[base])
            ]
            key = f"{rate}_{precision}_over_{base}"
            figures[key] = figures[f"{precision}_{rate}"] / figures[f"{base}_{rate}"]
            figures[f"{key}_min"] = min(per_round)
            figures[f"{key}_max"] = max(per_round)
    return figures
