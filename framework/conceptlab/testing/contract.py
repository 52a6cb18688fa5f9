"""The contract kit: one call tells a plugin author whether a component honours its interface.

>>> from conceptlab.testing.contract import check_component
>>> check_component(MyDomain)                       # doctest: +SKIP
>>> check_component(MyAgent, domain=MyDomain())     # doctest: +SKIP

Each ``check_*`` function exercises a class (or instance) with small inputs and
raises :class:`ContractViolation` listing every broken promise; it returns the
names of the checks that ran. conceptlab's own test suite runs
:func:`check_component` over every registered component.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from conceptlab.errors import ComponentError, InvalidActionError
from conceptlab.interfaces import (
    Agent,
    Component,
    ConceptMiner,
    Domain,
    NoveltyContext,
    NoveltyFilter,
    RolloutParams,
    Search,
    TeachabilityContext,
    TeachabilityFilter,
    TrainableAgent,
)
from conceptlab.values import Concept, ConceptProblem, Evaluation, MinedVector, Verdict

__all__ = [
    "ContractViolation",
    "check_agent",
    "check_component",
    "check_domain",
    "check_miner",
    "check_novelty_filter",
    "check_search",
    "check_teachability_filter",
]


class ContractViolation(AssertionError):
    """A component broke one or more promises of its interface."""

    def __init__(self, component: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{component} breaks its contract:\n{lines}")


class _Checker:
    def __init__(self, label: str) -> None:
        self.label = label
        self.problems: list[str] = []
        self.ran: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.ran.append(name)
        if not ok:
            self.problems.append(f"{name}: {detail}" if detail else name)
        return ok

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn``; an exception is recorded as a problem of check ``name``."""
        try:
            return fn()
        except Exception as exc:  # the point is to report, not to crash
            self.check(name, False, f"raised {type(exc).__name__}: {exc}")
            return None

    def done(self) -> list[str]:
        if self.problems:
            raise ContractViolation(self.label, self.problems)
        return self.ran


def _instance(obj: Any, *args: Any) -> Any:
    return obj(*args) if isinstance(obj, type) else obj


def _check_component_class(c: _Checker, cls: type[Component]) -> None:
    c.check("has a name", isinstance(getattr(cls, "name", None), str) and bool(cls.name))
    example = getattr(cls, "example_params", {})
    c.check(
        "Params builds from defaults (or the class's example_params)",
        c.run("Params(**example_params)", lambda: cls.Params(**example)) is not None,
    )


def _random_states(domain: Domain[Any], rng: np.random.Generator, games: int, max_moves: int) -> list[Any]:
    states = []
    for _ in range(games):
        state = domain.initial_state()
        for _ in range(max_moves):
            states.append(state)
            if domain.is_terminal(state):
                break
            legal = list(domain.legal_actions(state))
            state = domain.apply(state, int(legal[rng.integers(len(legal))]))
        else:
            states.append(state)
    return states


def check_domain(domain: Domain[Any] | type[Domain[Any]], *, games: int = 4, max_moves: int = 60,
                 seed: int = 0) -> list[str]:
    """Random games through the domain: rules, encodings, text forms, rendering."""
    domain = _instance(domain)
    c = _Checker(f"domain {type(domain).__name__}")
    _check_component_class(c, type(domain))
    rng = np.random.default_rng(seed)
    n = domain.num_actions
    c.check("num_actions is positive", isinstance(n, int) and n > 0, repr(n))
    states = c.run("random games", lambda: _random_states(domain, rng, games, max_moves)) or []
    for state in states:
        text = domain.to_text(state)
        back = c.run("from_text", lambda: domain.from_text(text))
        if back is not None:
            c.check("to_text/from_text round-trip", domain.to_text(back) == text, repr(text))
        if domain.is_terminal(state):
            ret = domain.returns(state)
            c.check("returns are two floats", len(ret) == 2, repr(ret))
            c.check("returns are zero-sum", abs(sum(ret)) < 1e-9, repr(ret))
            c.check("terminal state has no legal action", len(domain.legal_actions(state)) == 0)
            continue
        legal = list(domain.legal_actions(state))
        c.check("non-terminal state has legal actions", bool(legal), repr(text))
        c.check("legal actions are sorted and unique", legal == sorted(set(legal)), repr(legal[:10]))
        c.check("legal actions are in range", all(0 <= a < n for a in legal), repr(legal[:10]))
        c.check("current_player is 0 or 1", domain.current_player(state) in (0, 1))
        for action in legal[:8]:
            action_text = domain.action_to_text(state, action)
            parsed = c.run("action_from_text", lambda: domain.action_from_text(state, action_text))
            c.check("action text round-trip", parsed == action, f"{action} -> {action_text!r} -> {parsed}")
        names = [c.run("action_name", lambda: domain.action_name(state, a)) for a in legal]
        c.check("action names are distinct non-empty strings",
                all(isinstance(x, str) and x for x in names) and len(set(names)) == len(names), repr(names[:10]))
        player = domain.current_player(state)
        c.check("player_name is a non-empty string", bool(domain.player_name(player)), repr(player))
        last = c.run("last_action_name", lambda: domain.last_action_name(state))
        c.check("last_action_name is a string or None", last is None or isinstance(last, str), repr(last))
        c.run("apply", lambda: domain.apply(state, legal[0]))
        c.check("apply leaves its input unchanged", domain.to_text(state) == text, repr(text))
        illegal = next((a for a in range(n) if a not in set(legal)), None)
        if illegal is not None:
            try:
                domain.apply(state, illegal)
                c.check("illegal action raises InvalidActionError", False, f"action {illegal} in {text!r}")
            except InvalidActionError:
                c.check("illegal action raises InvalidActionError", True)
    if states:
        enc = c.run("encode", lambda: domain.encode(states[:16]))
        if enc is not None:
            shape = (min(16, len(states)), *domain.observation_shape)
            c.check("encode shape", enc.shape == shape, f"{enc.shape} != {shape}")
            c.check("encode dtype float32", enc.dtype == np.float32, str(enc.dtype))
            c.check("encode is finite", bool(np.isfinite(enc).all()))
        svg = c.run("render_svg", lambda: domain.render_svg(states[0]))
        c.check("render_svg returns SVG", isinstance(svg, str) and "<svg" in svg)
        for player in (0, 1):
            seen = c.run("render_player_svg", lambda: domain.render_player_svg(states[0], player))
            c.check("render_player_svg returns SVG", isinstance(seen, str) and "<svg" in seen)
        assets = c.run("study_assets", lambda: dict(domain.study_assets())) or {}
        c.check("study_assets maps relative paths to bytes",
                all(isinstance(k, str) and k and not k.startswith("/") and ".." not in k.split("/")
                    and isinstance(v, bytes) for k, v in assets.items()), repr(sorted(assets)[:10]))
        board = c.run("study_board", lambda: domain.study_board(states[0], domain.current_player(states[0])))
        c.check("study_board is JSON or None", board is None or _is_json(board), repr(board)[:200])
        planes = tuple(domain.observation_shape)
        if len(planes) == 3:
            grid = np.full(planes[1:], 0.5)
            heat = c.run("render_heatmap_svg", lambda: domain.render_heatmap_svg(states[0], grid))
            c.check("render_heatmap_svg returns SVG or None",
                    heat is None or (isinstance(heat, str) and "<svg" in heat))
    return c.done()


def _is_json(value: Any) -> bool:
    """Whether ``value`` survives ``json.dumps``."""
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def check_agent(agent: Agent[Any] | type[Agent[Any]], domain: Domain[Any], *, seed: int = 0) -> list[str]:
    """Evaluation shapes, masking and ranges, activations, determinism; for trainable agents
    also clone independence and checkpoint round-trip."""
    import tempfile
    from pathlib import Path

    agent = agent(domain) if isinstance(agent, type) else agent
    c = _Checker(f"agent {type(agent).__name__}")
    _check_component_class(c, type(agent))
    rng = np.random.default_rng(seed)
    states = [s for s in _random_states(domain, rng, 2, 12) if not domain.is_terminal(s)][:6]
    layers = agent.layer_names
    c.check("has layers", len(layers) > 0)
    ev: Evaluation | None = c.run("evaluate", lambda: agent.evaluate(states, layers))
    if ev is None:
        return c.done()
    c.check("policy shape", ev.policy.shape == (len(states), domain.num_actions), str(ev.policy.shape))
    c.check("value shape", ev.value.shape == (len(states),), str(ev.value.shape))
    for i, state in enumerate(states):
        legal = np.zeros(domain.num_actions, bool)
        legal[list(domain.legal_actions(state))] = True
        c.check("policy is zero on illegal actions", float(ev.policy[i][~legal].sum()) == 0.0)
        c.check("policy sums to 1", abs(float(ev.policy[i].sum()) - 1) < 1e-4, str(ev.policy[i].sum()))
    c.check("values in [-1, 1]", bool(np.all(np.abs(ev.value) <= 1 + 1e-6)), str(ev.value))
    for layer in layers:
        acts = ev.activations.get(layer)
        c.check(f"activations of {layer!r} returned", acts is not None and acts.shape[0] == len(states))
    again = agent.evaluate(states, layers[:1])
    c.check("evaluate is deterministic", np.array_equal(again.policy, ev.policy))
    try:
        agent.evaluate(states[:1], ["no such layer"])
        c.check("unknown layer raises ComponentError", False)
    except ComponentError:
        c.check("unknown layer raises ComponentError", True)
    if isinstance(agent, TrainableAgent):
        twin = agent.clone()
        targets = np.zeros((len(states), domain.num_actions), np.float32)
        for i, state in enumerate(states):
            targets[i, domain.legal_actions(state)[0]] = 1.0
        c.run("fit", lambda: twin.fit(states, targets, epochs=1, learning_rate=1e-2, batch_size=4,
                                      rng=np.random.default_rng(seed)))
        c.check("clone is independent", np.array_equal(agent.evaluate(states).policy, ev.policy))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "agent.ckpt"
            c.run("save", lambda: twin.save(path, step=1, games=0))
            info = c.run("load", lambda: agent.clone().load(path))
            loaded = agent.clone()
            if info is not None:
                loaded.load(path)
                c.check("checkpoint round-trip", np.allclose(loaded.evaluate(states).policy,
                                                             twin.evaluate(states).policy, atol=1e-6))
    return c.done()


def check_search(search: Search[Any] | type[Search[Any]], domain: Domain[Any], agent: Agent[Any], *,
                 seed: int = 0) -> list[str]:
    """Results are legal, consistent and reproducible; rollouts follow the rules."""
    search = search(domain) if isinstance(search, type) else search
    c = _Checker(f"search {type(search).__name__}")
    _check_component_class(c, type(search))
    states = [s for s in _random_states(domain, np.random.default_rng(seed), 1, 6)
              if not domain.is_terminal(s)][:3]
    for state in states:
        result = c.run("run", lambda: search.run(state, agent, np.random.default_rng(seed)))
        if result is None:
            continue
        legal = list(domain.legal_actions(state))
        c.check("result actions are the legal actions", sorted(result.actions) == legal)
        c.check("chosen action is legal", result.chosen_action in legal)
        c.check("visit counts sum to the simulations",
                int(result.visit_counts.sum()) == result.simulations,
                f"{int(result.visit_counts.sum())} != {result.simulations}")
        twin = search.run(state, agent, np.random.default_rng(seed))
        c.check("same seed, same result", np.array_equal(twin.visit_counts, result.visit_counts)
                and twin.chosen_action == result.chosen_action)
        rollouts = c.run("rollouts", lambda: search.rollouts(result, RolloutParams(), agent))
        if rollouts is None:
            continue
        for line in (rollouts.chosen, *rollouts.subpar):
            ok = len(line.states) == len(line.actions) + 1
            for i, action in enumerate(line.actions if ok else ()):
                nxt = domain.apply(line.states[i], action)
                ok = ok and domain.to_text(nxt) == domain.to_text(line.states[i + 1])
            c.check("rollout states follow their actions", ok)
        chosen = rollouts.chosen
        for line in rollouts.subpar:
            j = line.branch_depth
            c.check("subpar rollout branches off the chosen one",
                    0 <= j < len(chosen.states)
                    and domain.to_text(line.states[0]) == domain.to_text(chosen.states[j])
                    and (j >= len(chosen.actions) or line.actions[:1] != chosen.actions[j:j + 1]))
    return c.done()


def _planted_problem(rng: np.random.Generator, dim: int = 12, pairs: int = 40) -> ConceptProblem:
    direction = np.zeros(dim)
    direction[:2] = 1.0
    base = rng.normal(size=(2 * pairs, dim))
    pos = base + 1.5 * direction
    neg = base - 1.5 * direction + 0.1 * rng.normal(size=base.shape)
    return ConceptProblem(pos[:pairs], neg[:pairs], pos[pairs:], neg[pairs:], "planted")


def check_miner(miner: ConceptMiner | type[ConceptMiner], *, seed: int = 0) -> list[str]:
    """Finds an easy planted direction; explains, never raises on, degenerate problems."""
    miner = _instance(miner)
    c = _Checker(f"concept miner {type(miner).__name__}")
    _check_component_class(c, type(miner))
    rng = np.random.default_rng(seed)
    problem = _planted_problem(rng)
    mined: MinedVector | None = c.run("mine", lambda: miner.mine(problem, rng))
    if mined is not None:
        c.check("returns a MinedVector", isinstance(mined, MinedVector))
        c.check("finds a vector for an easy problem", mined.ok, mined.reason)
        if mined.ok:
            c.check("vector has the problem's dimension", mined.vector.shape == (problem.dim,))
            held = (problem.held_out_positive - problem.held_out_negative) @ mined.vector
            c.check("held-out pairs mostly satisfied", float(np.mean(held >= 0)) >= 0.9)
    empty = np.zeros((0, 12))
    zeros = np.zeros((10, 12))
    for label, bad in {
        "no pairs": ConceptProblem(empty, empty, empty, empty),
        "all-zero activations": ConceptProblem(zeros, zeros, zeros, zeros),
    }.items():
        out = c.run(f"mine on {label}", lambda bad=bad: miner.mine(bad, rng))
        if out is not None:
            c.check(f"{label}: no vector, with a reason", not out.ok and bool(out.reason))
    return c.done()


def _check_verdict(c: _Checker, verdict: Any, concept: Concept, filter_name: str) -> None:
    c.check("returns a Verdict", isinstance(verdict, Verdict))
    if isinstance(verdict, Verdict):
        c.check("verdict names the concept", verdict.concept_id == concept.id)
        c.check("verdict names the filter", verdict.filter == filter_name)
        c.check("verdict has a reason", bool(verdict.reason.strip()))
        c.check("verdict scores are numbers",
                all(isinstance(v, (int, float, bool)) for v in verdict.scores.values()))


def check_novelty_filter(flt: NoveltyFilter | type[NoveltyFilter], *, seed: int = 0) -> list[str]:
    """Prepares on synthetic activations and returns a verdict with numbers and a reason."""
    flt = _instance(flt)
    c = _Checker(f"novelty filter {type(flt).__name__}")
    _check_component_class(c, type(flt))
    rng = np.random.default_rng(seed)
    agent_acts = rng.normal(size=(64, 16))
    ref_acts = rng.normal(size=(64, 16))
    ref_acts[:, 8:] = 0.0
    context = NoveltyContext({"layer": agent_acts}, {"layer": ref_acts}, "synthetic reference")
    c.run("prepare", lambda: flt.prepare(context, rng))
    vector = np.zeros(16)
    vector[12] = 1.0
    concept = Concept("c0", "layer", vector, {}, {})
    verdict = c.run("assess", lambda: flt.assess(concept, rng))
    if verdict is not None:
        _check_verdict(c, verdict, concept, type(flt).name)
    return c.done()


def check_teachability_filter(flt: TeachabilityFilter | type[TeachabilityFilter],
                              context: TeachabilityContext, concept: Concept, *,
                              seed: int = 0) -> list[str]:
    """Prepares on ``context`` and returns a verdict with numbers and a reason for ``concept``."""
    flt = _instance(flt)
    c = _Checker(f"teachability filter {type(flt).__name__}")
    _check_component_class(c, type(flt))
    rng = np.random.default_rng(seed)
    if c.run("prepare", lambda: flt.prepare(context, rng)) is None and c.problems:
        return c.done()
    verdict = c.run("assess", lambda: flt.assess(concept, rng))
    if verdict is not None:
        _check_verdict(c, verdict, concept, type(flt).name)
    return c.done()


def check_component(cls: type[Component] | Component, **kwargs: Any) -> list[str]:
    """Dispatch to the check for the component's kind.

    Keyword arguments are those of the specific check (``domain=`` for agents;
    ``domain=`` and ``agent=`` for searches; ``context=`` and ``concept=`` for
    teachability filters).
    """
    kind_cls = cls if isinstance(cls, type) else type(cls)
    if issubclass(kind_cls, Domain):
        return check_domain(cls, **kwargs)  # type: ignore[arg-type]
    if issubclass(kind_cls, Agent):
        return check_agent(cls, **kwargs)  # type: ignore[arg-type]
    if issubclass(kind_cls, Search):
        return check_search(cls, **kwargs)  # type: ignore[arg-type]
    if issubclass(kind_cls, ConceptMiner):
        return check_miner(cls, **kwargs)  # type: ignore[arg-type]
    if issubclass(kind_cls, NoveltyFilter):
        return check_novelty_filter(cls, **kwargs)  # type: ignore[arg-type]
    if issubclass(kind_cls, TeachabilityFilter):
        return check_teachability_filter(cls, **kwargs)  # type: ignore[arg-type]
    raise TypeError(f"{kind_cls.__name__} is not a conceptlab component")
