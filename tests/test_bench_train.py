"""``bench train``, the measured peak and the figures every benchmark prints beside its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conceptlab.agents.pvnet import PVNetAgent  # noqa: E402
from conceptlab.bench.peak import fraction_of_peak, measure_peak, network_flops  # noqa: E402
from conceptlab.bench.train import bench_train  # noqa: E402
from conceptlab.cli import main  # noqa: E402
from conceptlab.errors import ParamsError  # noqa: E402
from conceptlab.interfaces import build_params  # noqa: E402
from conceptlab.testing.tictactoe import TicTacToe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = TicTacToe()
TINY_SPEC = str(ROOT / "specs" / "tictactoe-tiny.toml")


def tiny_agent() -> PVNetAgent:
    return PVNetAgent(DOMAIN, build_params(PVNetAgent, {"blocks": 1, "channels": 8, "hidden": 16}))


def test_peak_is_measured_in_both_dtypes() -> None:
    fp32 = measure_peak("float32", size=128, seconds=0.01)
    assert fp32.gflops > 0 and (fp32.dtype, fp32.size) == ("float32", 128)
    assert fp32.threads == torch.get_num_threads()
    assert measure_peak("bfloat16", size=128, seconds=0.01).gflops > 0
    with pytest.raises(ValueError, match="'float16'"):
        measure_peak("float16")
    several = measure_peak("float32", size=(64, 128), seconds=0.02)
    assert several.size in (64, 128) and several.gflops > 0
    with pytest.raises(ValueError, match="at least 64"):
        measure_peak("float32", size=(128, 32))


def test_network_flops_count_forward_and_backward_without_touching_the_agent() -> None:
    agent = tiny_agent()
    states = DOMAIN.opening_states(4, np.random.default_rng(0))
    before = {k: v.clone() for k, v in agent.network.state_dict().items()}
    forward = network_flops(agent, states)
    both = network_flops(agent, states, backward=True)
    assert forward is not None and both is not None
    assert forward > 0 and both > 2 * forward  # a backward pass costs about twice the forward
    for key, value in agent.network.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not agent.network.training
    assert network_flops(object(), states) is None
    peak = measure_peak("float32", size=128, seconds=0.01)
    assert fraction_of_peak(1000.0, forward, peak) == pytest.approx(1000.0 * forward / (peak.gflops * 1e9))


def test_bench_train_measures_and_leaves_the_agent_unchanged() -> None:
    agent = tiny_agent()
    before = agent.evaluate([DOMAIN.initial_state()]).policy
    figures = bench_train(DOMAIN, agent, positions=24, batch_size=8, rng=np.random.default_rng(0), repeats=2)
    assert (figures["positions"], figures["batch_size"], figures["epochs"], figures["repeats"]) == (24, 8, 1, 2)
    assert figures["samples_per_s"] >= figures["samples_per_s_min"] > 0
    assert figures["samples_per_s"] == pytest.approx(24 / figures["seconds_per_round"])
    np.testing.assert_array_equal(agent.evaluate([DOMAIN.initial_state()]).policy, before)
    with pytest.raises(ParamsError, match="batch_size=0"):
        bench_train(DOMAIN, agent, positions=4, batch_size=0, rng=np.random.default_rng(0))


@pytest.mark.slow
def test_bench_commands_print_the_policy_load_and_fraction_of_peak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    spec = TINY_SPEC
    out = tmp_path / "train.json"
    assert main(["bench", "train", spec, "--positions", "16", "--repeats", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for key in ("thread_policy", "load_average_start", "load_average_end", "precision", "peak_fp32_gflops",
                "samples_per_s", "train_fraction_of_peak"):
        assert key in printed, key
    figures = json.loads(out.read_text())
    assert figures["threads"] == figures["torch_threads"]
    # the peak is measured before and after the timings, and the higher reading is the one used
    assert figures["peak_fp32_gflops"] == max(figures["peak_fp32_gflops_start"], figures["peak_fp32_gflops_end"])
    assert figures["peak_fp32_gflops_start"] > 0 and figures["peak_fp32_gflops_end"] > 0
    assert 0 < figures["train_fraction_of_peak"] < 10
    assert main(["bench", "search", spec, "--positions", "2", "--repeats", "1",
                 "--set", "search.params.simulations=8", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["net_fraction_of_peak"] > 0 and figures["search_fraction_of_peak"] > 0
    assert "intra-op thread" in figures["thread_policy"]
    assert main(["bench", "mine", "--dim", "32", "--pairs", "12", "--concepts", "2", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["lp_iterations_per_concept"] > 0 and figures["lp_fraction_of_peak"] > 0


def test_compare_precisions_interleaves_rounds_and_restores_the_agent() -> None:
    from conceptlab.bench.precisions import compare_precisions

    agent = tiny_agent()
    order: list[str] = []
    speed = {"fp32": [100.0, 90.0, 110.0], "bf16": [150.0, 180.0, 120.0]}

    def measure() -> dict[str, float]:
        order.append(agent.precision)
        round_index = order.count(agent.precision) - 1
        rate = speed[agent.precision][round_index]
        return {"positions": 4, "repeats": 1, "rate": rate, "share": rate / 1000}

    figures = compare_precisions(agent, ["fp32", "bf16"], 3, measure, ["rate"], ["positions"], ["share"])
    # each round measures both, in the order given and then reversed, so neither always goes first
    assert order == ["fp32", "bf16", "bf16", "fp32", "fp32", "bf16"]
    assert agent.precision == "fp32"
    assert (figures["positions"], figures["rounds"]) == (4, 3) and "repeats" not in figures  # not kept
    assert (figures["fp32_rate"], figures["fp32_rate_min"]) == (110.0, 90.0)
    assert (figures["bf16_rate"], figures["bf16_rate_min"]) == (180.0, 120.0)
    assert figures["rate_bf16_over_fp32"] == pytest.approx(180.0 / 110.0)
    assert figures["rate_bf16_over_fp32_min"] == pytest.approx(120.0 / 110.0)  # round 3's, not best over best
    assert figures["rate_bf16_over_fp32_max"] == pytest.approx(2.0)  # round 2: 180 / 90
    # a figure of one measurement is summarised per precision, never divided across rounds
    assert (figures["bf16_share"], figures["bf16_share_min"], figures["bf16_share_max"]) == (0.15, 0.12, 0.18)
    assert "share_bf16_over_fp32" not in figures


def test_compare_precisions_restores_the_precision_when_a_measurement_fails() -> None:
    from conceptlab.bench.precisions import compare_precisions

    agent = tiny_agent()
    agent.set_precision("bf16")

    def measure() -> dict[str, float]:
        if agent.precision == "fp32":
            raise RuntimeError("measurement failed")
        return {"rate": 1.0}

    with pytest.raises(RuntimeError, match="measurement failed"):
        compare_precisions(agent, ["bf16", "fp32"], 2, measure, ["rate"])
    assert agent.precision == "bf16"
    with pytest.raises(ParamsError, match="no precision setting"):
        compare_precisions(object(), ["fp32"], 1, measure, ["rate"])
    with pytest.raises(ParamsError, match="--repeats >= 1"):
        compare_precisions(agent, ["fp32"], 0, measure, ["rate"])


def test_parse_precisions_resolves_and_refuses_bad_lists() -> None:
    from conceptlab.bench.precisions import parse_precisions
    from conceptlab.precision import PrecisionError

    assert [c.used for c in parse_precisions("fp32, bf16")] == ["fp32", "bf16"]
    with pytest.raises(PrecisionError, match="'fp16'"):
        parse_precisions("fp32,fp16")
    with pytest.raises(ParamsError, match="no precision"):
        parse_precisions(" , ")
    with pytest.raises(ParamsError, match="one precision twice"):
        parse_precisions("bf16,bf16")


@pytest.mark.slow
def test_bench_commands_compare_precisions_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    out, spec = tmp_path / "figures.json", TINY_SPEC
    assert main(["bench", "train", spec, "--positions", "16", "--repeats", "2", "--precisions", "fp32,bf16",
                 "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["precision"].startswith("fp32 (asked fp32") and "; bf16 (asked bf16" in figures["precision"]
    assert figures["rounds"] == 2
    ratio = figures["samples_per_s_bf16_over_fp32"]
    assert ratio == pytest.approx(figures["bf16_samples_per_s"] / figures["fp32_samples_per_s"])
    assert figures["samples_per_s_bf16_over_fp32_min"] <= figures["samples_per_s_bf16_over_fp32_max"]
    assert figures["fp32_train_fraction_of_peak"] > 0 and figures["bf16_train_fraction_of_peak"] > 0
    assert main(["bench", "search", spec, "--positions", "2", "--repeats", "1", "--precisions", "fp32,bf16",
                 "--set", "search.params.simulations=8", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    for precision in ("fp32", "bf16"):
        for key in ("batched_sims_per_s", "one_leaf_sims_per_s", "net_evals_per_s", "search_evals_per_s",
                    "search_efficiency", "tree_us_per_sim", "search_mean_batch",
                    "net_fraction_of_peak", "search_fraction_of_peak"):
            assert figures[f"{precision}_{key}"] > 0, (precision, key)
        assert figures[f"{precision}_search_efficiency_min"] <= figures[f"{precision}_search_efficiency_max"]
    assert figures["batched_sims_per_s_bf16_over_fp32"] > 0
    assert not any(key.startswith(("batched_over_one_leaf", "search_efficiency", "outside")) for key in figures)
    assert (figures["positions"], figures["simulations"]) == (2, 8)
    assert main(["bench", "search", spec, "--precisions", "fp32,bf16", "--player", "x"]) == 2
    assert "do not combine" in capsys.readouterr().err


def test_each_precision_is_a_fraction_of_its_own_peak() -> None:
    from conceptlab.bench.commands import _peak

    both = {"threads": 1, "peak_fp32_gflops": 100.0, "peak_bf16_gflops": 220.0}
    assert (_peak(both, "fp32").gflops, _peak(both, "fp32").dtype) == (100.0, "float32")
    assert (_peak(both, "bf16").gflops, _peak(both, "bf16").dtype) == (220.0, "bfloat16")
    assert _peak(both).gflops == 220.0  # one precision measured, and it was native bf16
    only_fp32 = {"threads": 1, "peak_fp32_gflops": 100.0}  # emulated bf16 has no peak of its own
    assert _peak(only_fp32, "bf16").gflops == 100.0 and _peak(only_fp32).dtype == "float32"
