"""The thread policy: one intra-op thread by default, a passive wait policy, and its overrides."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conceptlab.cli import main
from conceptlab.executors import LocalExecutor, run_all
from conceptlab.threads import (
    THREADS_ENV,
    ThreadPolicyError,
    apply_thread_policy,
    resolve_threads,
    thread_state,
    thread_state_of_unit,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No thread settings in the environment (restored afterwards, torch's threads too)."""
    for name in (THREADS_ENV, "OMP_NUM_THREADS", "OMP_WAIT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    yield monkeypatch
    torch.set_num_threads(threads)


def test_default_is_one_thread(clean_env: pytest.MonkeyPatch) -> None:
    assert resolve_threads() == (1, "default")


def test_precedence_flag_then_conceptlab_then_omp(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OMP_NUM_THREADS", "4")
    assert resolve_threads() == (4, "OMP_NUM_THREADS")
    clean_env.setenv(THREADS_ENV, "3")
    assert resolve_threads() == (3, THREADS_ENV)
    assert resolve_threads(2) == (2, "--threads")
    assert resolve_threads("5") == (5, "--threads")


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_counts_are_refused_with_the_input(clean_env: pytest.MonkeyPatch, bad: str) -> None:
    with pytest.raises(ThreadPolicyError, match=repr(bad).replace(".", r"\.")):
        resolve_threads(bad)
    clean_env.setenv(THREADS_ENV, bad)
    with pytest.raises(ThreadPolicyError, match=THREADS_ENV):
        resolve_threads()


def test_apply_sets_torch_and_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    import torch

    policy = apply_thread_policy(2)
    assert (policy.threads, policy.source, policy.wait_policy) == (2, "--threads", "PASSIVE")
    assert torch.get_num_threads() == 2
    assert thread_state() == {
        "torch_threads": 2, THREADS_ENV: "2", "OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE",
    }
    assert "2 intra-op threads" in policy.describe()
    # torch was imported before the policy set the wait policy: it says so
    assert not policy.wait_policy_in_effect and "not in effect" in policy.describe()


def test_a_wait_policy_in_the_environment_is_kept(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert apply_thread_policy().wait_policy == "ACTIVE"


def test_cli_flag_is_applied_and_a_bad_one_is_one_line(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    assert main(["--threads", "3", "plugins"]) == 0
    assert torch.get_num_threads() == 3 and os.environ[THREADS_ENV] == "3"
    assert main(["--threads", "none", "plugins"]) == 2
    assert "--threads: expected a positive number of threads, got 'none'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_applies_the_policy_before_torch_loads(tmp_path: Path) -> None:
    code = (
        "import sys; from conceptlab.cli import main; main(sys.argv[1:]); "
        "from conceptlab.threads import thread_state; print(thread_state())"
    )
    env = {k: v for k, v in os.environ.items() if k not in (THREADS_ENV, "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "framework"), env.get("PYTHONPATH", "")])
    default = subprocess.run([sys.executable, "-c", code, "plugins"], env=env, capture_output=True,
                             text=True, check=True, cwd=tmp_path).stdout.splitlines()[-1]
    assert "'torch_threads': 1" in default and "'OMP_WAIT_POLICY': 'PASSIVE'" in default
    env[THREADS_ENV] = "2"
    overridden = subprocess.run([sys.executable, "-c", code, "plugins"], env=env, capture_output=True,
                                text=True, check=True, cwd=tmp_path).stdout.splitlines()[-1]
    assert "'torch_threads': 2" in overridden


@pytest.mark.slow
def test_pool_workers_run_under_the_policy(clean_env: pytest.MonkeyPatch) -> None:
    apply_thread_policy()
    with LocalExecutor(workers=2) as executor:
        states = run_all(executor, thread_state_of_unit, [0, 1])
    for state in states:
        assert state["torch_threads"] == 1
        assert state["OMP_WAIT_POLICY"] == "PASSIVE"
    clean_env.setenv(THREADS_ENV, "2")
    with LocalExecutor(workers=1) as executor:
        (state,) = run_all(executor, thread_state_of_unit, [0])
    assert state["torch_threads"] == 2


def test_current_policy_keeps_where_the_count_came_from(clean_env: pytest.MonkeyPatch) -> None:
    from conceptlab.threads import current_thread_policy

    applied = apply_thread_policy(2)
    assert current_thread_policy() is applied  # not re-read from the environment as CONCEPTLAB_THREADS
    clean_env.setenv(THREADS_ENV, "1")  # the environment changed since: the policy is applied anew
    again = current_thread_policy()
    assert (again.threads, again.source) == (1, THREADS_ENV)
