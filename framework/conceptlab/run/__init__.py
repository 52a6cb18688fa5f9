"""The run: what stages are given while they work, and the components of a spec.

- :mod:`~conceptlab.run.context` holds :class:`~conceptlab.run.context.RunContext`
  (what lifecycle hooks see), :class:`~conceptlab.run.context.StageContext` (what a
  stage function is given) and :class:`~conceptlab.run.context.StageSummary`;
- :mod:`~conceptlab.run.components` builds a spec's components, once per process;
- :mod:`~conceptlab.run.store` reads a run directory as frozen values
  (:func:`~conceptlab.run.store.open_run`, also ``conceptlab.open_run``).

The driver that runs the stages in order is :func:`conceptlab.pipeline.run_pipeline`.
This package imports neither the plugin manager nor the stages, so that the hook
specifications and every stage can import it.
"""
