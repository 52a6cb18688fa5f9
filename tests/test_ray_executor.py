"""The Ray executor on a local Ray instance: same artifacts as in-process, killed workers retried."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conceptlab import pipeline
from conceptlab.errors import ComponentError
from conceptlab.executors import Executor, RayExecutor, make_executor
from conceptlab.pipeline import run_pipeline
from conceptlab.rundir import RunDir
from conceptlab.spec import STAGES, ExecutorSpec, load_spec

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"


def ray_or_skip() -> Any:
    """The ray module; a skip when it is not installed, a failure if CONCEPTLAB_REQUIRE_RAY=1."""
    if os.environ.get("CONCEPTLAB_REQUIRE_RAY") == "1":
        import ray
        return ray
    return pytest.importorskip("ray", reason="ray is not installed (pip install 'conceptlab[ray]')")


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    """One local Ray instance (2 CPUs, no dashboard) shared by the module's tests."""
    ray = ray_or_skip()
    # workers unpickle this module's helpers by value: they cannot import the test module
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


@dataclass(frozen=True)
class DieOnce:
    """Runs ``fn``, then kills its own process before returning, the first time anywhere."""

    fn: Callable[[Any], Any]
    marker: str

    def __call__(self, payload: Any) -> Any:
        result = self.fn(payload)
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return result
        os._exit(1)  # the worker dies mid-task: the result never reaches the driver


@dataclass(frozen=True)
class CountCalls:
    """Runs ``fn`` and leaves one file per call in ``folder`` (calls seen across processes)."""

    fn: Callable[[Any], Any]
    folder: str

    def __call__(self, payload: Any) -> Any:
        Path(self.folder, f"{payload}-{os.getpid()}-{os.urandom(4).hex()}").touch()
        return self.fn(payload)


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"bad unit {x}")
    return x


class KillOneWorker(Executor):
    """A Ray executor whose first finished unit's worker dies before handing the result back."""

    name = "ray"

    def __init__(self, inner: RayExecutor, marker: Path) -> None:
        self.inner, self.marker = inner, str(marker)

    def imap(self, fn: Callable[[Any], Any], payloads: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        return self.inner.imap(DieOnce(fn, self.marker), payloads)

    def close(self) -> None:
        self.inner.close()


def test_every_unit_once_after_a_worker_is_killed(ray_instance, tmp_path):
    marker, calls = tmp_path / "killed", tmp_path / "calls"
    calls.mkdir()
    executor = RayExecutor(workers=2, max_retries=2)
    results = list(executor.imap(DieOnce(CountCalls(square, str(calls)), str(marker)), list(range(10))))
    assert marker.exists(), "no worker was killed"
    assert sorted(i for i, _ in results) == list(range(10))
    assert dict(results) == {i: i * i for i in range(10)}
    # the killed unit ran twice (once in the dead worker), every other unit once
    runs = sorted(int(p.name.split("-")[0]) for p in calls.iterdir())
    assert len(runs) == 11 and set(runs) == set(range(10))
    executor.close()
    assert ray_instance.is_initialized(), "closing must not stop an instance it did not start"


def test_a_worker_killed_beyond_max_retries_fails_the_unit(ray_instance, tmp_path):
    executor = RayExecutor(workers=1, max_retries=0)
    with pytest.raises(ray_instance.exceptions.WorkerCrashedError):
        list(executor.imap(DieOnce(square, str(tmp_path / "killed")), [1, 2]))


def test_an_exception_in_a_unit_is_raised_as_itself_and_not_retried(ray_instance, tmp_path):
    executor = RayExecutor(workers=2, max_retries=3)
    calls = tmp_path / "calls"
    calls.mkdir()
    with pytest.raises(ValueError, match="bad unit 3"):
        list(executor.imap(CountCalls(fail_on_three, str(calls)), list(range(6))))
    assert sum(p.name.startswith("3-") for p in calls.iterdir()) == 1


def test_make_executor_builds_ray_with_its_params():
    ray_or_skip()
    executor = make_executor(ExecutorSpec(name="ray", address="auto", workers=3, max_retries=5))
    assert isinstance(executor, RayExecutor)
    assert (executor.address, executor.workers, executor.max_retries) == ("auto", 3, 5)


def test_missing_ray_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ComponentError, match=r"executor 'ray' needs the ray package.*conceptlab\[ray\]"):
        make_executor(ExecutorSpec(name="ray"))


def _artifacts(path: Path) -> dict[str, bytes]:
    # spec.json records the executor the run used; everything else must match
    return {k: v for k, v in RunDir(path, load_spec(TINY)).artifacts().items() if k != "spec.json"}


@pytest.mark.slow
def test_tiny_spec_on_ray_with_a_killed_worker_matches_the_serial_run(ray_instance, tmp_path, monkeypatch):
    serial_out, ray_out, marker = tmp_path / "serial", tmp_path / "ray", tmp_path / "killed"
    run_pipeline(load_spec(TINY), serial_out, progress=False)

    spec = load_spec(TINY, ["executor.name=ray", "executor.workers=2", "executor.max_retries=2"])
    monkeypatch.setattr(
        pipeline, "make_executor",
        lambda s: KillOneWorker(RayExecutor(s.address, s.workers, s.num_cpus, s.max_retries), marker),
    )
    manifest = run_pipeline(spec, ray_out, progress=False)

    assert marker.exists(), "no worker was killed"
    assert all(manifest["stages"][stage]["status"] == "finished" for stage in STAGES)
    serial_manifest = json.loads((serial_out / "manifest.json").read_text())
    for stage in STAGES:
        assert manifest["stages"][stage]["units"] == serial_manifest["stages"][stage]["units"], stage
        assert manifest["stages"][stage]["figures"] == serial_manifest["stages"][stage]["figures"], stage
    serial, distributed = _artifacts(serial_out), _artifacts(ray_out)
    assert serial.keys() == distributed.keys()
    different = [name for name in serial if serial[name] != distributed[name]]
    assert not different, f"artifacts differ between serial and ray: {different[:5]}"
    assert any(name.startswith("collect/pool_acts/store/") for name in serial)
