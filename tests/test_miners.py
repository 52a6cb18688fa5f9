"""The concept miners: planted-concept recovery, and explained failures instead of exceptions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from conceptlab.concepts import concept_metrics, dynamic_problem, static_problem
from conceptlab.errors import ParamsError
from conceptlab.interfaces import ConceptMiner, build_params
from conceptlab.miners import CavMiner, ConvexMiner, MeanDifferenceMiner
from conceptlab.plugins import get_registry
from conceptlab.values import ConceptProblem

BACKENDS = ["lp", "cvxpy"]


def _convex(**params: Any) -> ConvexMiner:
    return ConvexMiner(build_params(ConvexMiner, params))


def _planted(rng: np.random.Generator, dim: int, support: int = 3) -> np.ndarray:
    """A unit vector with ``support`` non-zero entries of random sign and size."""
    vector = np.zeros(dim)
    where = rng.choice(dim, size=support, replace=False)
    vector[where] = rng.choice([-1.0, 1.0], size=support) * rng.uniform(0.5, 1.0, size=support)
    return vector / np.linalg.norm(vector)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _with_presence(rows: np.ndarray, direction: np.ndarray, presence: np.ndarray) -> np.ndarray:
    """``rows`` moved along unit ``direction`` so that ``direction . row = presence``."""
    return rows + (presence - rows @ direction)[:, None] * direction


def _static_case(seed: int) -> tuple[ConceptProblem, np.ndarray]:
    """Isotropic activations; Z+ / Z- are the rows scoring high / low on a planted direction."""
    rng = np.random.default_rng(seed)
    planted = _planted(rng, dim=50)
    acts = rng.normal(size=(400, 50))
    presence = acts @ planted
    problem = static_problem(acts[presence > 0.5], acts[presence < -0.5], max_pairs=300,
                             held_out_fraction=0.2, rng=rng)
    return problem, planted


def _dynamic_case(seed: int, steps: str, sign: int = 1) -> tuple[ConceptProblem, np.ndarray]:
    """A chosen line along which the planted concept grows; subpar lines fall 0.5-1.5 below it."""
    rng = np.random.default_rng(seed)
    dim, plies = 40, 10
    planted = _planted(rng, dim)
    chosen = _with_presence(0.3 * rng.normal(size=(plies + 1, dim)), planted,
                            np.linspace(0.0, 2.0, plies + 1))
    subpar = []
    for depth in range(plies):
        for _ in range(4):
            line = rng.normal(size=(plies - depth + 1, dim))
            line[0] = chosen[depth]
            line[1:] = _with_presence(line[1:], planted, chosen[depth + 1:] @ planted
                                      - rng.uniform(0.5, 1.5, size=plies - depth))
            subpar.append((depth, line))
    problem = dynamic_problem(chosen, subpar, steps=steps, sign=sign, held_out_fraction=0.2, rng=rng)
    return problem, planted


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_convex_recovers_a_planted_static_concept(backend: str, seed: int) -> None:
    problem, planted = _static_case(seed)
    mined = _convex(backend=backend).mine(problem, np.random.default_rng(0))
    assert mined.ok and mined.status == "optimal", mined.reason
    assert _cosine(mined.vector, planted) >= 0.95
    metrics = concept_metrics(mined.vector, problem)
    assert metrics["train_satisfaction"] == 1.0
    assert metrics["held_out_satisfaction"] >= 0.95
    assert metrics["l0"] < problem.dim / 2  # sparse, as the L1 objective should make it
    assert mined.details["backend"] == backend and mined.details["solve_time_s"] >= 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("steps", ["all", "even"])
def test_convex_recovers_a_planted_dynamic_concept(backend: str, steps: str) -> None:
    problem, planted = _dynamic_case(seed=3, steps=steps)
    mined = _convex(backend=backend).mine(problem, np.random.default_rng(0))
    assert mined.ok, mined.reason
    assert _cosine(mined.vector, planted) >= 0.95
    assert concept_metrics(mined.vector, problem)["held_out_satisfaction"] >= 0.9


def test_prophylactic_sign_recovers_the_reversed_direction() -> None:
    problem, planted = _dynamic_case(seed=4, steps="all", sign=-1)
    mined = _convex(backend="lp").mine(problem, np.random.default_rng(0))
    assert mined.ok and _cosine(mined.vector, -planted) >= 0.95


def test_backends_agree_on_objective_and_slack_relaxes_an_infeasible_program() -> None:
    problem, _ = _static_case(seed=2)
    lp = _convex(backend="lp").mine(problem, np.random.default_rng(0))
    cvx = _convex(backend="cvxpy").mine(problem, np.random.default_rng(0))
    assert lp.details["objective"] == pytest.approx(cvx.details["objective"], rel=1e-5)
    # one contradicting pair makes the hard program infeasible; slack absorbs it
    contradiction = ConceptProblem(
        np.vstack([problem.positive, problem.negative[:1]]),
        np.vstack([problem.negative, problem.positive[:1]]),
        problem.held_out_positive, problem.held_out_negative,
    )
    for backend in BACKENDS:
        hard = _convex(backend=backend).mine(contradiction, np.random.default_rng(0))
        assert hard.vector is None and hard.status == "infeasible"
        assert "infeasible" in hard.reason and "margin 1.0" in hard.reason
        soft = _convex(backend=backend, slack_penalty=10.0).mine(contradiction, np.random.default_rng(0))
        assert soft.ok and soft.details["slack_total"] > 0
        assert soft.details["pairs_short_of_margin"] >= 1


def test_cvxpy_reuses_compiled_programs_across_pair_counts_in_a_bucket() -> None:
    miner = _convex(backend="cvxpy")
    problem, _ = _static_case(seed=0)
    fresh = _convex(backend="cvxpy", reuse_compiled=False)
    for pairs in (40, 37):  # both pad to 64 rows
        sub = ConceptProblem(problem.positive[:pairs], problem.negative[:pairs],
                             problem.held_out_positive, problem.held_out_negative)
        reused = miner.mine(sub, np.random.default_rng(0))
        direct = fresh.mine(sub, np.random.default_rng(0))
        assert reused.details["objective"] == pytest.approx(direct.details["objective"], rel=1e-6)
    assert len(miner._programs) == 1


def test_tiny_slack_penalty_gives_an_explained_zero_vector() -> None:
    problem, _ = _static_case(seed=0)
    mined = _convex(backend="lp", slack_penalty=1e-6).mine(problem, np.random.default_rng(0))
    assert mined.vector is None and "v = 0" in mined.reason


def _degenerate_problems() -> dict[str, ConceptProblem]:
    empty = np.zeros((0, 6))
    return {
        "no pairs": ConceptProblem(empty, empty, empty, empty),
        "all zero": ConceptProblem(np.zeros((8, 6)), np.zeros((8, 6)), empty, empty),
        "not finite": ConceptProblem(np.full((2, 6), np.nan), np.zeros((2, 6)), empty, empty),
        "mismatched": ConceptProblem(np.ones((3, 6)), np.ones((2, 6)), empty, empty),
    }


def _all_miners() -> list[ConceptMiner]:
    return [_convex(backend="lp"), _convex(backend="cvxpy"), _convex(slack_penalty=1.0),
            CavMiner(), MeanDifferenceMiner()]


@pytest.mark.parametrize("case", list(_degenerate_problems()))
@pytest.mark.parametrize("miner", _all_miners(), ids=lambda m: f"{m.name}")
def test_every_miner_explains_a_degenerate_problem(miner: ConceptMiner, case: str) -> None:
    mined = miner.mine(_degenerate_problems()[case], np.random.default_rng(0))
    assert mined.vector is None and not mined.ok
    assert mined.status == "degenerate"
    assert mined.reason.startswith("Cannot mine") and mined.reason.endswith(".")


@pytest.mark.parametrize("miner", _all_miners(), ids=lambda m: f"{m.name}")
def test_every_miner_explains_a_problem_with_no_direction(miner: ConceptMiner) -> None:
    # pairs that cancel: the mean difference is zero and no v separates both
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    problem = ConceptProblem(a, a[::-1], np.zeros((0, 2)), np.zeros((0, 2)))
    mined = miner.mine(problem, np.random.default_rng(0))
    assert mined.vector is None and mined.reason


def test_baselines_point_along_a_planted_concept() -> None:
    problem, planted = _static_case(seed=0)
    for miner in (CavMiner(), MeanDifferenceMiner()):
        mined = miner.mine(problem, np.random.default_rng(0))
        assert mined.ok and np.linalg.norm(mined.vector) == pytest.approx(1.0)
        assert _cosine(mined.vector, planted) >= 0.8, miner.name


def test_miners_are_registered_and_params_validated() -> None:
    registry = get_registry(autoload=False)
    assert {"convex", "cav", "mean-difference"} <= set(registry.names("concept_miner"))
    miner = registry.create("concept_miner", "convex", {"backend": "lp", "margin": 2.0})
    assert isinstance(miner, ConvexMiner) and miner.params.margin == 2.0
    with pytest.raises(ParamsError, match="NOSUCH"):
        build_params(ConvexMiner, {"solver": "NOSUCH"})
    with pytest.raises(ParamsError, match="margin"):
        build_params(ConvexMiner, {"margin": 0})


def test_bench_mine_times_both_backends_on_the_same_programs() -> None:
    from conceptlab.bench.mine import bench_mine

    taught: list[int] = []
    figures = bench_mine(dim=64, pairs=20, rng=np.random.default_rng(0), concepts=2,
                         teach_fn=lambda vector: taught.append(vector.size))
    assert figures["objective_max_rel_diff"] < 1e-6
    assert figures["lp_s_per_concept"] > 0 and figures["cvxpy_s_per_concept"] > 0
    assert figures["cvxpy_over_lp"] == pytest.approx(
        figures["cvxpy_s_per_concept"] / figures["lp_s_per_concept"])
    assert taught == [64, 64] and figures["teach_s_per_concept"] >= 0
    with pytest.raises(ParamsError, match="concepts=1"):
        bench_mine(dim=8, pairs=4, rng=np.random.default_rng(0), concepts=1)


def test_bench_teach_times_the_specs_filter_with_the_specs_agent() -> None:
    from pathlib import Path

    from conceptlab.bench.mine import bench_teach
    from conceptlab.pipeline import Components
    from conceptlab.spec import load_spec, resolve_spec

    registry = get_registry()
    spec = load_spec(Path(__file__).resolve().parents[1] / "specs" / "tictactoe-tiny.toml")
    components = Components(resolve_spec(spec, registry), registry)
    figures = bench_teach(components, rng=np.random.default_rng(0), concepts=1, pool_size=16)
    assert figures["teach_s_per_concept"] > 0 and figures["teach_pool"] == 16
    assert figures["teach_layer"] == "block0" and figures["teach_dim"] == 72
    assert figures["teach_agent"].startswith("pvnet") and figures["teach_filter"].startswith("kl-student")
    # the calibrated procedure (3 seeds) beside the single training of before, on the same concepts
    assert figures["teach_single_training_s_per_concept"] > 0
    assert figures["teach_cost_ratio"] == pytest.approx(
        figures["teach_s_per_concept"] / figures["teach_single_training_s_per_concept"])
    assert figures["teach_null_directions"] == 4
    assert figures["teach_null_s"] == pytest.approx(4 * figures["teach_s_per_concept"])
    with pytest.raises(ParamsError, match="concepts >= 1"):
        bench_teach(components, rng=np.random.default_rng(0), concepts=0)


@pytest.mark.parametrize("miner", _all_miners(), ids=lambda m: f"{m.name}")
def test_every_miner_honours_the_miner_contract(miner: ConceptMiner) -> None:
    from conceptlab.testing.contract import check_miner

    assert "finds a vector for an easy problem" in check_miner(miner)


def test_column_generation_reaches_the_full_lps_optimum() -> None:
    from conceptlab.miners.column_generation import solve_by_columns

    rng = np.random.default_rng(4)
    for slack_penalty in (None, 0.5):
        problem = synthetic_wide_problem(rng, pairs=40, dim=600)
        full = ConvexMiner(ConvexMiner.Params(backend="lp", column_generation=False, slack_penalty=slack_penalty))
        generated = ConvexMiner(ConvexMiner.Params(backend="lp", slack_penalty=slack_penalty))
        a, b = full.mine(problem, rng), generated.mine(problem, rng)
        assert a.ok and b.ok
        assert b.details["objective"] == pytest.approx(a.details["objective"], rel=1e-7)
        np.testing.assert_allclose(b.vector, a.vector, atol=1e-7)
        found = solve_by_columns(problem.positive - problem.negative, 1.0, slack_penalty, initial=8, batch=8)
        assert found is not None and found.rounds > 1 and found.dimensions < 600
        np.testing.assert_allclose(found.vector, a.vector, atol=1e-7)


def test_column_generation_hands_an_infeasible_program_to_the_full_lp() -> None:
    rng = np.random.default_rng(5)
    problem = synthetic_wide_problem(rng, pairs=6, dim=40)
    # a pair and its mirror image: no v scores both at the margin
    positive = np.vstack([problem.positive, problem.negative[:1]])
    negative = np.vstack([problem.negative, problem.positive[:1]])
    mined = ConvexMiner(ConvexMiner.Params(backend="lp")).mine(
        type(problem)(positive, negative, problem.held_out_positive, problem.held_out_negative), rng)
    assert mined.vector is None and mined.status == "infeasible"


def synthetic_wide_problem(rng: np.random.Generator, *, pairs: int, dim: int) -> ConceptProblem:
    """Post-ReLU-like rows, far more dimensions than pairs, a planted direction the positives lead on."""
    negative = np.maximum(rng.normal(size=(pairs, dim)), 0.0)
    positive = np.maximum(rng.normal(size=(pairs, dim)), 0.0)
    positive[:, :5] += 1.0
    empty = np.zeros((0, dim))
    return ConceptProblem(positive, negative, empty, empty)
