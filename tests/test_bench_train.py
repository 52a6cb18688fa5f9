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


def tiny_agent() -> PVNetAgent:
    return PVNetAgent(DOMAIN, build_params(PVNetAgent, {"blocks": 1, "channels": 8, "hidden": 16}))


def test_peak_is_measured_in_both_dtypes() -> None:
    fp32 = measure_peak("float32", size=128, seconds=0.01)
    assert fp32.gflops > 0 and (fp32.dtype, fp32.size) == ("float32", 128)
    assert fp32.threads == torch.get_num_threads()
    assert measure_peak("bfloat16", size=128, seconds=0.01).gflops > 0
    with pytest.raises(ValueError, match="'float16'"):
        measure_peak("float16")


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

    spec = str(ROOT / "specs" / "tictactoe-tiny.toml")
    out = tmp_path / "train.json"
    assert main(["bench", "train", spec, "--positions", "16", "--repeats", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for key in ("thread_policy", "load_average_start", "load_average_end", "precision", "peak_fp32_gflops",
                "samples_per_s", "train_fraction_of_peak"):
        assert key in printed, key
    figures = json.loads(out.read_text())
    assert figures["threads"] == figures["torch_threads"]
    assert 0 < figures["train_fraction_of_peak"] < 10
    assert main(["bench", "search", spec, "--positions", "2", "--repeats", "1",
                 "--set", "search.params.simulations=8", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["net_fraction_of_peak"] > 0 and figures["search_fraction_of_peak"] > 0
    assert "intra-op thread" in figures["thread_policy"]
    assert main(["bench", "mine", "--dim", "32", "--pairs", "12", "--concepts", "2", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["lp_iterations_per_concept"] > 0 and figures["lp_fraction_of_peak"] > 0
