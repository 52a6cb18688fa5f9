"""Run specifications: TOML in, a strict pydantic model out, validated in two steps.

Step one (:func:`load_spec`) checks the structure: every section and field is
known and of the right type. Step two (:func:`resolve_spec`) looks each selected
component up in the registry and validates its ``params`` against that
component's own ``Params`` model. Both steps raise :class:`SpecError` (or a
:class:`ComponentError`) with one line that names the file, the place and the fix.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import Field, field_validator, model_validator

from conceptlab.errors import ComponentError, SpecError, did_you_mean
from conceptlab.interfaces import StrictParams, build_params
from conceptlab.interfaces.search import RolloutParams

__all__ = [
    "EXECUTORS",
    "SHIPPED",
    "STAGES",
    "STAGE_NEEDS",
    "STAGE_COMPONENTS",
    "ComponentRef",
    "ResolvedSpec",
    "RunSpec",
    "apply_overrides",
    "load_spec",
    "resolve_spec",
    "spec_hash",
    "stage_hashes",
]

STAGES: tuple[str, ...] = (
    "train", "collect", "mine", "teach", "novelty", "amplify", "export", "probe",
)
"""The pipeline's stages, in the order they run (``probe`` reads only train and collect)."""

STAGE_NEEDS: Mapping[str, tuple[str, ...]] = {
    "train": (),
    "collect": ("train",),
    "mine": ("collect",),
    "teach": ("train", "collect", "mine"),
    "novelty": ("collect", "mine", "teach"),
    "amplify": ("collect", "mine", "teach", "novelty"),
    "export": ("collect", "mine", "teach", "novelty", "amplify"),
    "probe": ("train", "collect"),
}
"""Stage -> the stages whose artifacts it reads."""

STAGE_COMPONENTS: Mapping[str, tuple[str, ...]] = {
    "train": ("domain", "agent", "search", "precision"),
    "collect": ("domain", "agent", "search", "precision"),
    "mine": ("domain", "agent", "miner"),
    "teach": ("domain", "agent", "teachability", "precision"),
    "novelty": ("domain", "agent", "novelty"),
    "amplify": ("domain", "agent", "precision"),
    "export": ("domain", "agent", "search", "precision"),
    "probe": ("domain", "agent", "miner", "precision"),
}
"""Stage -> the top-level spec fields its results depend on, beside its own ``stages.<name>``
table, the seed, the players its settings name and the stages it reads (:func:`stage_hashes`)."""

EXECUTORS: tuple[str, ...] = ("local", "serial", "ray")
"""Executor names a spec may choose."""

SHIPPED = "shipped"
"""``stages.train.checkpoints = ["shipped"]``: the series the agent's plugin ships."""

RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""A run name: one folder name (it names the default run directory ``runs/<name>``)."""


class _Strict(pydantic.BaseModel):
    # allow_inf_nan=False: a NaN or infinite number anywhere in a spec is refused here
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ComponentRef(_Strict):
    """A component chosen by its registered name, with its params."""

    name: str = Field(description="Registered name of the component (see `conceptlab plugins`).")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Params, validated by the component's own Params model."
    )


class ExecutorSpec(_Strict):
    """Where embarrassingly parallel work runs."""

    name: str = Field(default="local", description=f"One of {', '.join(EXECUTORS)}.")
    workers: int | None = Field(
        default=None, ge=1,
        description="Worker processes, or with ray the units in flight at once "
        "(default: the machine's cores; with ray, the cluster's CPUs).",
    )
    address: str | None = Field(
        default=None,
        description="ray only: the cluster to join ('auto', or 'ray://host:10001'); "
        "None starts a local Ray instance.",
    )
    num_cpus: int | None = Field(
        default=None, ge=1, description="ray only: CPUs of the local instance it starts (default: all)."
    )
    max_retries: int = Field(
        default=3, ge=0, description="ray only: times a unit is rerun after its worker process dies."
    )


class TrainStage(_Strict):
    """Self-play training that produces the agent's checkpoint series."""

    checkpoints: list[str] = Field(
        default_factory=list,
        description="Existing checkpoint files, oldest first, the last being the final agent, "
        "or [\"shipped\"]: the series the agent's plugin ships. "
        "When given, no training happens and these are used as they are.",
    )
    iterations: int = Field(default=4, ge=1, description="Training iterations; one checkpoint each.")
    games_per_iteration: int = Field(default=16, ge=1, description="Self-play games per iteration.")
    max_moves: int = Field(default=200, ge=1, description="Moves after which a game is adjudicated a draw.")
    temperature_moves: int = Field(
        default=8, ge=0, description="Moves sampled in proportion to visits before playing greedily."
    )
    buffer_size: int = Field(default=20_000, ge=1, description="Replay buffer capacity in positions.")
    epochs: int = Field(default=2, ge=1, description="Passes over the buffer per iteration.")
    batch_size: int = Field(default=64, ge=1, description="Training batch size.")
    learning_rate: float = Field(default=1e-3, gt=0, description="Adam learning rate.")
    selfplay_search: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the search's params during self-play only, e.g. "
        "{ simulations = 64 }: self-play may search less than the agent plays with "
        "(the spec's [search] everywhere else). Empty: the spec's search.",
    )
    value_mix: float = Field(
        default=0.0, ge=0, le=1,
        description="Weight w of the root search value in the value targets: "
        "(1 - w) * game outcome + w * root value, both for the player to move. "
        "0: the outcome alone (AlphaZero).",
    )
    symmetries: bool = Field(
        default=False,
        description="Also fit every buffer position's images under the domain's exact "
        "symmetries (the domain's optional symmetries method); an error if it declares none.",
    )


class CollectStage(_Strict):
    """Self-play, disagreement positions, rollouts, activations, pool and reference positions."""

    games: int = Field(default=16, ge=1, description="Self-play games of the final agent.")
    max_moves: int = Field(default=200, ge=1, description="Moves after which a game stops.")
    temperature_moves: int = Field(
        default=8, ge=0, description="Opening moves sampled in proportion to visits, for diverse games."
    )
    positions_examined: int = Field(
        default=256, ge=1,
        description="Self-play positions searched by both agents to find where they disagree.",
    )
    weaker_checkpoint: int = Field(
        default=-2,
        description="Index into the checkpoint series of the weaker agent that must disagree "
        "(negative counts from the end; -1 is the final agent).",
    )
    max_positions: int = Field(default=64, ge=1, description="Disagreement positions kept at most.")
    layers: list[str] = Field(
        default_factory=list, description="Layers whose activations are recorded (default: the agent's last torso layer)."
    )
    rollout: RolloutParams = Field(default_factory=RolloutParams)
    rollout_search: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the search's params for the disagreement search and its rollouts only, "
        "e.g. { simulations = 400 }: the chosen and rejected lines are worth their name only with a real "
        "search, while the self-play games may search less. Empty: the spec's search.",
    )
    pool_size: int = Field(default=512, ge=1, description="Self-play positions in the prototype pool.")
    reference_source: str | None = Field(
        default=None, description="Reference games for the novelty filter, read by the domain (e.g. a PGN path)."
    )
    reference_player: str = Field(
        default="checkpoint:0",
        description="Used when no reference_source: 'checkpoint:I' (self-play games of checkpoint I), "
        "'random', or 'agent:NAME' (games of the spec's player NAME sampling its own policy, "
        "e.g. a model of human play).",
    )
    reference_temperature: float = Field(
        default=1.0, gt=0,
        description="'agent:NAME' reference games: moves are sampled from the policy raised to 1/T "
        "(1: the policy itself; small: close to its top move).",
    )
    weaker_player: str | None = Field(
        default=None,
        description="'agent:NAME': the spec's player NAME is the weaker side of the disagreement "
        "search (instead of weaker_checkpoint), e.g. a model of human play.",
    )
    reference_size: int = Field(default=512, ge=1, description="Reference positions (and as many agent positions).")


class MineStage(_Strict):
    """Building mining problems from rollouts and running the miner on each."""

    signs: list[Literal[1, -1]] = Field(
        default_factory=lambda: [1], description="+1 active concepts, -1 prophylactic ones."
    )
    steps: Literal["all", "even", "odd"] = Field(
        default="all", description="Rollout steps used: all, or every other one (one player's moves)."
    )
    held_out_fraction: float = Field(
        default=0.2, ge=0, lt=1, description="Fraction of pairs kept out of mining to measure generalisation."
    )
    max_candidates: int | None = Field(default=None, ge=1, description="Stop after this many candidates.")


class TeachStage(_Strict):
    """Running the teachability filter on every mined concept."""

    max_concepts: int | None = Field(default=None, ge=1, description="Assess at most this many concepts.")
    student: str | None = Field(
        default=None,
        description="'agent:NAME': the spec's player NAME is the student (of any architecture, taught "
        "on the domain's actions) instead of an earlier checkpoint of the agent.",
    )
    fdr_q: float = Field(
        default=0.1, gt=0, lt=1,
        description="False-discovery rate over all candidates (Benjamini-Hochberg on the verdicts' "
        "p-values): a concept is teachable when its test survives it.",
    )
    null_directions: int = Field(
        default=20, ge=0,
        description="Random directions of each kind (sparse, with the mined concepts' median number of "
        "non-zeros; dense, N(0, I)/dim) put through the same filter: the null the verdicts are read "
        "against (the paper's own share of removed candidates is not a false-positive rate).",
    )
    dynamic_prototypes: Literal["rollouts", "top"] = Field(
        default="rollouts",
        description="A dynamic concept's prototypes (and a null direction's, with the layer, sign and steps "
        "of the concept it is matched to): 'rollouts', the root states of the rollout positions whose own "
        "rollouts satisfy its constraints, sign * v.(z_chosen_t - z_subpar_t) > 0 on the pairs mining uses "
        "(the paper's rule); 'top', the top of the pool by v.z (the filter's prototype_fraction).",
    )
    constraint_share: float = Field(
        default=1.0, gt=0, le=1,
        description="With dynamic_prototypes = 'rollouts': the share of a position's pairs that must satisfy "
        "the concept's constraints for its root state to be a prototype (1.0: all, the paper's rule).",
    )


class NoveltyStage(_Strict):
    """Running the novelty filter on the teachable concepts."""

    only_teachable: bool = Field(default=True, description="Assess only concepts that passed teachability.")
    match_strata: bool = Field(
        default=True,
        description="Match the agent's and the reference positions stratum by stratum (the domain's game "
        "phase, e.g. ply and material for chess), so that phase does not pass for novelty; random "
        "subsamples either way, never the first n.",
    )
    null_directions: int = Field(
        default=20, ge=0,
        description="Random sparse directions (the mined concepts' median number of non-zeros) put through "
        "the filter: the share judged novel is the rule's false-positive rate on random vectors.",
    )
    agent_split: bool = Field(
        default=True,
        description="Also run the filter with the agent's own positions on both sides (two random halves of "
        "the pool): the share judged novel there is a false-positive rate, since nothing can be novel.",
    )


class AmplifyStage(_Strict):
    """The causal check of method.md section 5."""

    method: Literal["causal", "interpolate"] = Field(
        default="causal",
        description="'causal': add the concept (z + e |z| v/|v|) and remove its projection, on the concept's "
        "line and on held-out positions, each against random directions, with p-values; 'interpolate': the "
        "paper's (1 - a) z + a b (|z| / |v|) v per a, beside one random direction.",
    )
    epsilon: float = Field(default=1.0, gt=0, description="causal: e in z + e |z| v/|v|.")
    random_directions: int = Field(default=20, ge=1, description="causal: random directions in the null.")
    alphas: list[float] = Field(
        default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0], description="interpolate: the values of a."
    )
    beta: float = Field(default=0.01, description="interpolate: b in z' = (1 - a) z + a b (|z| / |v|) v.")
    positions: int = Field(
        default=16, ge=1,
        description="Positions per concept: of its chosen line (the chosen moves as targets) and, for 'causal', "
        "as many held-out pool positions where the concept is most present (the agent's own moves as targets).",
    )


class ExportStage(_Strict):
    """Concept cards and puzzle sets."""

    puzzles_per_phase: int = Field(default=4, ge=1, description="Puzzles per concept in phases 1 and 3.")
    include_failed: bool = Field(
        default=False, description="Also export concepts that failed a filter (for a control arm)."
    )
    fallback: Literal["none", "strongest"] = Field(
        default="none",
        description="When no concept passed both filters: 'none' exports nothing; 'strongest' exports "
        "the fallback_concepts strongest assessed candidates (most filters passed, then smallest "
        "teachability p-value, then largest effect) as control puzzles: a study's control arm, not findings.",
    )
    fallback_concepts: int = Field(
        default=4, ge=1, description="'strongest' fallback: how many candidates to export as controls."
    )


class ProbeStage(_Strict):
    """Known concepts: validation of static concepts and sparse probes (what, when, where)."""

    concepts: list[str] = Field(
        default_factory=list, description="Known concepts to use (default: all the domain names)."
    )
    layers: list[str] = Field(
        default_factory=list, description="Layers to validate and probe (default: every named layer)."
    )
    checkpoints: list[int] = Field(
        default_factory=list,
        description="Indices into the checkpoint series to probe (negative counts from the end; "
        "default: every checkpoint). Validation always uses the final agent.",
    )
    positions: int = Field(
        default=1000, ge=8, description="Pool positions (from the collect stage) labelled and used at most."
    )
    validation: Literal["miner", "probe"] = Field(
        default="miner",
        description="'miner': the spec's miner on static problems (Z+ vs Z-), scored by held-out "
        "pair accuracy (v.z+ > v.z-); 'probe': a sparse logistic probe, held-out accuracy.",
    )
    test_fraction: float = Field(
        default=0.2, gt=0, lt=1,
        description="Share of positions held out for the test scores (whole games when the collect stage "
        "recorded them).",
    )
    validation_fraction: float = Field(
        default=0.2, ge=0, lt=1,
        description="Share of positions held out (whole games) to choose each concept's best layer, and each "
        "baseline's, before the test scores are read; 0 chooses on the test scores.",
    )
    baselines: list[Literal["input", "untrained"]] = Field(
        default_factory=lambda: ["input", "untrained"],
        description="Feature sets every validation and probe is repeated on: 'input' (the domain's encoded "
        "input planes), 'untrained' (an untrained net of the agent's architecture, initialised as the train "
        "stage's first checkpoint, at every layer).",
    )
    max_pairs: int = Field(default=500, ge=1, description="Training pairs per static problem at most.")
    min_examples: int = Field(
        default=10, ge=2,
        description="Positions needed on each side of a concept (present / absent) to use it.",
    )
    probe_strength: float = Field(
        default=0.01, gt=0, description="L1 strength of the probes (Lasso alpha, or 1/C for logistic)."
    )
    probe_max_iter: int = Field(
        default=100, ge=1,
        description="Newton steps of a logistic probe at most (liblinear; each at most 1,000 coordinate-descent "
        "passes over the training positions).",
    )
    probe_max_passes: int = Field(
        default=1000, ge=1,
        description="Coordinate-descent passes of a Lasso probe (for a quantity) at most.",
    )
    probe_tol: float = Field(default=1e-4, gt=0, description="The probe solver's stopping tolerance.")

    @model_validator(mode="after")
    def _fractions_leave_training_positions(self) -> ProbeStage:
        if self.test_fraction + self.validation_fraction >= 1:
            raise ValueError(
                f"test_fraction + validation_fraction = {self.test_fraction + self.validation_fraction:g} "
                "leaves no positions to train on"
            )
        return self


class Stages(_Strict):
    """Per-stage settings; every section is optional."""

    train: TrainStage = Field(default_factory=TrainStage)
    collect: CollectStage = Field(default_factory=CollectStage)
    mine: MineStage = Field(default_factory=MineStage)
    teach: TeachStage = Field(default_factory=TeachStage)
    novelty: NoveltyStage = Field(default_factory=NoveltyStage)
    amplify: AmplifyStage = Field(default_factory=AmplifyStage)
    export: ExportStage = Field(default_factory=ExportStage)
    probe: ProbeStage = Field(default_factory=ProbeStage)


class RunSpec(_Strict):
    """A whole run: which components, with what params, and each stage's budget."""

    name: str = Field(
        description="Run name; the default run directory is runs/<name>. One folder name: "
        "letters, digits, '.', '_' and '-', starting with a letter or digit, without '..'.",
    )
    description: str = Field(default="", description="Free text for the report.")
    seed: int = Field(default=0, ge=0, description="All randomness in the run flows from this.")
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    precision: Literal["fp32", "bf16", "auto"] = Field(
        default="fp32",
        description="Numeric precision of network evaluation and training: 'fp32'; 'bf16' (bf16 "
        "autocast: faster on CPUs with native bf16, several times slower without); 'auto' "
        "(bf16 only where the CPU has native bf16 and a quick measured check finds it faster). "
        "The choice is recorded in the run manifest.",
    )
    domain: ComponentRef
    agent: ComponentRef
    search: ComponentRef = Field(default_factory=lambda: ComponentRef(name="puct"))
    miner: ComponentRef = Field(default_factory=lambda: ComponentRef(name="convex"))
    teachability: ComponentRef = Field(default_factory=lambda: ComponentRef(name="kl-student"))
    novelty: ComponentRef = Field(default_factory=lambda: ComponentRef(name="spectral"))
    players: dict[str, ComponentRef] = Field(
        default_factory=dict,
        description="Other agents, by a name the stages refer to as 'agent:NAME' (reference player, "
        "weaker player, student), e.g. [players.maia] name = \"lc0\", params = { weights = \"maia-1900\" }.",
    )
    stages: Stages = Field(default_factory=Stages)

    @field_validator("name")
    @classmethod
    def _one_folder_name(cls, value: str) -> str:
        if not RUN_NAME.fullmatch(value) or ".." in value:
            raise ValueError(
                "a run name is one folder name under runs/ (letters, digits, '.', '_', '-'; "
                "starting with a letter or digit; no '..')"
            )
        return value


COMPONENT_FIELDS: Mapping[str, str] = {
    "domain": "domain",
    "agent": "agent",
    "search": "search",
    "miner": "concept_miner",
    "teachability": "teachability_filter",
    "novelty": "novelty_filter",
}
"""RunSpec field -> component kind."""


def _format_error(source: str, exc: pydantic.ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        parent = RunSpec
        for part in err["loc"][:-1]:
            field = parent.model_fields.get(str(part)) if isinstance(parent, type) else None
            parent = field.annotation if field is not None else None  # type: ignore[assignment]
        known = parent.model_fields if isinstance(parent, type) and issubclass(parent, pydantic.BaseModel) else {}
        hint = did_you_mean(str(err["loc"][-1]), known)
        return f"{source}: unknown field {loc!r}{hint}"
    if err["type"] == "missing":
        return f"{source}: missing field {loc!r}"
    return f"{source}: field {loc!r}: {err['msg']} (got {err.get('input')!r})"


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (values in TOML syntax, else strings) to raw spec data."""
    data = json.loads(json.dumps(data))
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--set {item!r}: expected KEY=VALUE, e.g. search.params.simulations=64")
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SpecError(f"--set {item!r}: {part!r} is not a table")
            node = child
        node[parts[-1]] = _parse_value(raw.strip())
    return data


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> RunSpec:
    """Read and structurally validate a spec (step one of two).

    A spec is a TOML file, or the ``spec.json`` a run directory holds (the spec
    exactly as its stages ran: a resumed run from it keeps every finished stage).
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: TOML syntax error: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: JSON syntax error: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a spec is a table of fields, not {type(data).__name__}")
    return spec_from_dict(apply_overrides(data, overrides), source=str(path))


def spec_from_dict(data: Mapping[str, Any], source: str = "<spec>") -> RunSpec:
    """Structurally validate already-parsed spec data."""
    try:
        return RunSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise SpecError(_format_error(source, exc)) from None


@dataclass(frozen=True)
class ResolvedSpec:
    """A spec whose components exist and whose params validated (step two of two)."""

    spec: RunSpec
    classes: Mapping[str, type]
    """RunSpec field (``"domain"``, ``"miner"``, ...) -> the registered class."""
    params: Mapping[str, StrictParams]
    """RunSpec field -> the component's validated params."""
    players: Mapping[str, tuple[type, StrictParams]] = dataclasses.field(default_factory=dict)
    """Player name -> its agent class and validated params."""


def resolve_spec(spec: RunSpec, registry: Any, source: str = "<spec>") -> ResolvedSpec:
    """Look every component up and validate its params; errors name the spec field."""
    if spec.executor.name not in EXECUTORS:
        raise SpecError(
            f"{source}: unknown executor {spec.executor.name!r}"
            f"{did_you_mean(spec.executor.name, EXECUTORS)}; choose one of {', '.join(EXECUTORS)}"
        )
    classes: dict[str, type] = {}
    params: dict[str, StrictParams] = {}
    for field, kind in COMPONENT_FIELDS.items():
        ref: ComponentRef = getattr(spec, field)
        try:
            cls = registry.get(kind, ref.name)
            params[field] = build_params(cls, ref.params)
        except ComponentError as exc:
            exc.args = (f"{source}: [{field}] {exc}",)
            raise exc from None
        classes[field] = cls
    players: dict[str, tuple[type, StrictParams]] = {}
    for name, ref in spec.players.items():
        try:
            cls = registry.get("agent", ref.name)
            players[name] = (cls, build_params(cls, ref.params))
        except ComponentError as exc:
            exc.args = (f"{source}: [players.{name}] {exc}",)
            raise exc from None
    collect, teach = spec.stages.collect, spec.stages.teach
    for where, ref in (
        ("stages.collect.reference_player", collect.reference_player if not collect.reference_source else None),
        ("stages.collect.weaker_player", collect.weaker_player),
        ("stages.teach.student", teach.student),
    ):
        if ref is None or (where.endswith("reference_player") and not ref.startswith("agent:")):
            continue
        name = ref.removeprefix("agent:")
        if not ref.startswith("agent:") or name not in players:
            known = ", ".join(f"agent:{n}" for n in players) or "none: add a [players.NAME] section"
            raise SpecError(f"{source}: {where} = {ref!r} names no player of the spec (players: {known})")
    for where, overrides in (("stages.train.selfplay_search", spec.stages.train.selfplay_search),
                             ("stages.collect.rollout_search", spec.stages.collect.rollout_search)):
        if overrides:  # these search params must be valid params of the spec's search too
            try:
                build_params(classes["search"], {**spec.search.params, **overrides})
            except ComponentError as exc:
                exc.args = (f"{source}: [{where}] {exc}",)
                raise exc from None
    return ResolvedSpec(spec, classes, params, players)


def spec_hash(spec: RunSpec) -> str:
    """SHA-256 of the spec's canonical JSON: two specs that mean the same hash the same.

    The ``executor`` section is left out: it decides where units run, never what
    they compute, so a run started on one executor can be resumed on another.
    ``precision`` is left out when it is the default ``fp32``, so that specs
    written before it existed keep their hash.
    """
    content = spec.model_dump(mode="json", exclude={"executor"})
    if content.get("precision") == "fp32":
        del content["precision"]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _players_named(spec: RunSpec, stage: str) -> dict[str, Any]:
    """The ``[players]`` a stage's settings name as ``agent:NAME``, as JSON data."""
    settings = getattr(spec.stages, stage).model_dump(mode="json")
    named = {
        value.removeprefix("agent:") for value in settings.values()
        if isinstance(value, str) and value.startswith("agent:")
    }
    if stage == "collect" and spec.stages.collect.reference_source:
        named.discard(spec.stages.collect.reference_player.removeprefix("agent:"))
    return {name: spec.players[name].model_dump(mode="json") for name in sorted(named) if name in spec.players}


def stage_hashes(spec: RunSpec) -> dict[str, str]:
    """Each stage's identity: SHA-256 of what its results depend on, stage by stage.

    A stage's hash covers its own ``stages.<name>`` table, the seed, the spec
    fields of :data:`STAGE_COMPONENTS` (components with their params, and the
    numeric precision), the players its settings name, and the hashes of the
    stages it reads (:data:`STAGE_NEEDS`). So a changed setting changes the hash
    of its stage and of every stage downstream of it, and of no other: a resumed
    run keeps the finished stages whose hash is unchanged. The executor, the run's
    name and its description are in no hash: they never change what a stage computes.
    """
    hashes: dict[str, str] = {}
    data = spec.model_dump(mode="json")
    for stage in STAGES:  # pipeline order: every stage a stage reads comes before it
        content = {
            "stage": stage,
            "settings": data["stages"][stage],
            "seed": spec.seed,
            "components": {field: data[field] for field in STAGE_COMPONENTS[stage]},
            "players": _players_named(spec, stage),
            "needs": {need: hashes[need] for need in STAGE_NEEDS[stage]},
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        hashes[stage] = hashlib.sha256(canonical.encode()).hexdigest()
    return hashes
