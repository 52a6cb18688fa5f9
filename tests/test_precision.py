"""The precision setting: fp32, bf16 and auto (native bf16 and a measured check)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conceptlab import precision as precision_module  # noqa: E402
from conceptlab.agents.pvnet import PVNetAgent  # noqa: E402
from conceptlab.errors import ComponentError  # noqa: E402
from conceptlab.interfaces import build_params  # noqa: E402
from conceptlab.pipeline import Components  # noqa: E402
from conceptlab.plugins import get_registry  # noqa: E402
from conceptlab.precision import (  # noqa: E402
    AUTO_PRECISION_ENV,
    PrecisionError,
    autocast,
    check_precision,
    cpu_has_native_bf16,
    resolve_precision,
)
from conceptlab.spec import load_spec, resolve_spec, spec_hash  # noqa: E402
from conceptlab.testing.tictactoe import TicTacToe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = TicTacToe()
STATES = [DOMAIN.initial_state(), DOMAIN.from_text("X...O...."), DOMAIN.from_text("XX.OO.X..")]


@pytest.fixture
def fresh_auto(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """``auto`` resolved afresh, with no choice inherited from another process."""
    monkeypatch.delenv(AUTO_PRECISION_ENV, raising=False)
    precision_module._auto_choice.cache_clear()
    yield monkeypatch
    precision_module._auto_choice.cache_clear()


def test_unknown_precisions_are_refused_with_the_input() -> None:
    with pytest.raises(PrecisionError, match="'fp16'"):
        check_precision("fp16")
    with pytest.raises(PrecisionError, match="'auto'"):
        autocast("auto")
    with pytest.raises(PrecisionError, match="'half'"):
        PVNetAgent(DOMAIN).set_precision("half")


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma avx512f\n")
    assert not cpu_has_native_bf16(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma avx512f avx512_bf16 amx_tile\n")
    assert cpu_has_native_bf16(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")  # Arm
    assert cpu_has_native_bf16(cpuinfo)
    assert not cpu_has_native_bf16(tmp_path / "missing")


def test_auto_is_fp32_without_native_bf16(fresh_auto: pytest.MonkeyPatch) -> None:
    fresh_auto.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    fresh_auto.setattr(precision_module, "calibrate", lambda: pytest.fail("no calibration without bf16"))
    choice = resolve_precision("auto")
    assert (choice.requested, choice.used, choice.native_bf16) == ("auto", "fp32", False)
    assert "no native bf16" in choice.reason


@pytest.mark.parametrize(("rates", "used"), [((100.0, 200.0), "bf16"), ((100.0, 104.0), "fp32")])
def test_auto_with_native_bf16_follows_the_measurement(
    fresh_auto: pytest.MonkeyPatch, rates: tuple[float, float], used: str
) -> None:
    fresh_auto.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    fresh_auto.setattr(precision_module, "calibrate", lambda: rates)
    choice = resolve_precision("auto")
    assert choice.used == used
    assert (choice.fp32_per_s, choice.bf16_per_s) == rates
    assert f"{rates[1] / rates[0]:.2f}x" in choice.reason


def test_auto_reuses_the_choice_of_the_starting_process(fresh_auto: pytest.MonkeyPatch) -> None:
    fresh_auto.setenv(AUTO_PRECISION_ENV, "bf16")
    assert resolve_precision("auto").used == "bf16"


def test_forced_precisions_are_used_as_asked() -> None:
    assert resolve_precision("fp32").used == "fp32"
    choice = resolve_precision("bf16")
    assert choice.used == "bf16"
    if not choice.native_bf16:
        assert "emulated" in choice.reason


def test_calibration_measures_both_precisions() -> None:
    fp32_rate, bf16_rate = precision_module.calibrate(seconds=0.01)
    assert fp32_rate > 0 and bf16_rate > 0


def test_bf16_evaluation_and_fit_stay_close_to_fp32() -> None:
    agent = PVNetAgent(DOMAIN, build_params(PVNetAgent, {"blocks": 1, "channels": 8, "hidden": 32}), seed=3)
    reference = agent.evaluate(STATES, layers=agent.layer_names[:1])
    agent.set_precision("bf16")
    low = agent.evaluate(STATES, layers=agent.layer_names[:1])
    assert low.policy.dtype == np.float32 and low.value.dtype == np.float32
    np.testing.assert_allclose(low.policy, reference.policy, atol=0.02)
    np.testing.assert_allclose(low.value, reference.value, atol=0.02)
    layer = agent.layer_names[0]
    assert low.activations[layer].dtype == np.float32
    np.testing.assert_allclose(low.activations[layer], reference.activations[layer], atol=0.05, rtol=0.02)
    # the illegal moves stay masked out
    assert np.all(low.policy[2][list(set(range(9)) - set(DOMAIN.legal_actions(STATES[2])))] == 0)
    targets = np.full((len(STATES), 9), 1.0 / 9, dtype=np.float32)
    losses = agent.fit(STATES, targets, np.zeros(len(STATES), np.float32), epochs=2, learning_rate=1e-3,
                       batch_size=2, rng=np.random.default_rng(0))
    assert np.isfinite(losses["policy_loss"]) and np.isfinite(losses["value_loss"])
    assert agent.clone().precision == "bf16"


def test_spec_precision_reaches_the_agent_and_keeps_old_hashes() -> None:
    path = ROOT / "specs" / "tictactoe-tiny.toml"
    default = load_spec(path)
    assert default.precision == "fp32"
    assert spec_hash(load_spec(path, ["precision='fp32'"])) == spec_hash(default)
    assert spec_hash(load_spec(path, ["precision='bf16'"])) != spec_hash(default)
    registry = get_registry()
    spec = load_spec(path, ["precision='bf16'"])
    components = Components(resolve_spec(spec, registry), registry)
    assert components.precision.used == "bf16"
    assert components.new_agent(0).precision == "bf16"  # type: ignore[attr-defined]


def test_bf16_with_an_agent_without_set_precision_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "specs" / "tictactoe-tiny.toml"
    registry = get_registry()
    components = Components(resolve_spec(load_spec(path, ["precision='bf16'"]), registry), registry)
    monkeypatch.setattr(PVNetAgent, "set_precision", None)
    with pytest.raises(ComponentError, match="has no set_precision"):
        components.new_agent(0)


def test_the_manifest_records_precision_and_threads(tmp_path: Path) -> None:
    from conceptlab.pipeline import run_pipeline

    spec = load_spec(ROOT / "specs" / "tictactoe-tiny.toml",
                     ["precision='bf16'", "stages.train.iterations=1", "stages.train.games_per_iteration=2"])
    manifest = run_pipeline(spec, tmp_path / "run", stages=["train"], progress=False)
    runtime = manifest["runtime"]
    assert (runtime["precision"]["requested"], runtime["precision"]["used"]) == ("bf16", "bf16")
    assert runtime["threads"]["threads"] >= 1 and runtime["threads"]["wait_policy"]
    assert manifest["stages"]["train"]["precision"] == "bf16"
    assert manifest["stages"]["train"]["threads"] == runtime["threads"]["threads"]


def test_bf16_leaves_single_state_evaluations_in_fp32() -> None:
    from conceptlab.precision import BF16_MIN_BATCH

    assert BF16_MIN_BATCH == 2
    agent = PVNetAgent(DOMAIN, build_params(PVNetAgent, {"blocks": 1, "channels": 8, "hidden": 32}), seed=3)
    layer = agent.layer_names[0]
    fp32_one = agent.evaluate(STATES[:1], layers=[layer])
    fp32_all = agent.evaluate(STATES, layers=[layer])
    agent.set_precision("bf16")
    one = agent.evaluate(STATES[:1], layers=[layer])
    np.testing.assert_array_equal(one.policy, fp32_one.policy)  # batch 1: fp32, bit for bit
    np.testing.assert_array_equal(one.activations[layer], fp32_one.activations[layer])
    batched = agent.evaluate(STATES, layers=[layer])
    assert not np.array_equal(batched.activations[layer], fp32_all.activations[layer])  # batch >= 2: bf16
