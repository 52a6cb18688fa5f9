"""Components in worker processes: built once per process and spec, from the spec's JSON data.

This is the only part of the run that builds a registry of its own: a worker
process (local or on Ray) rebuilds the run's components from the spec data a
unit carries. In the run's own process, :func:`use_components` makes the run's
components the answer, so units run there share its registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conceptlab.plugins import get_registry
from conceptlab.run.components import Components
from conceptlab.spec import resolve_spec, spec_from_dict, spec_hash

__all__ = ["components_for", "use_components"]


_WORKER_COMPONENTS: dict[str, Components] = {}


def components_for(spec_data: Mapping[str, Any]) -> Components:
    """Components for a spec given as JSON data; cached per process (for worker units).

    In the process that runs the pipeline, this is the run's own :class:`Components`.
    """
    spec = spec_from_dict(spec_data)
    key = spec_hash(spec)
    if key not in _WORKER_COMPONENTS:
        registry = get_registry()
        _WORKER_COMPONENTS[key] = Components(resolve_spec(spec, registry), registry)
    return _WORKER_COMPONENTS[key]


def use_components(components: Components) -> None:
    """Make ``components`` what :func:`components_for` returns for its spec in this process.

    The driver calls this so that units run in its own process use the run's
    components (and so its registry) rather than building new ones.
    """
    _WORKER_COMPONENTS[spec_hash(components.spec)] = components
