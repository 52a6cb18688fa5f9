"""The export stage: concept cards and puzzle sets for the study (method.md section 6).

For each concept that passed both filters (and, with ``include_failed``, every
assessed concept, marked as a control; with ``fallback = "strongest"`` and no
concept passing both, the strongest assessed candidates, marked as controls:
:func:`strongest_candidates`), a card with the vector, its provenance,
every filter number, its prototypes and the agent's chosen and rejected lines;
and puzzle sets for phase 1 and phase 3 with the solutions shown in phase 2: the
final agent's searched move and line. Each pool position is a puzzle of one concept
and one phase at most (:func:`allocate_positions`), so that phase 2 never shows the
answer to a puzzle of phase 3.

Artifacts: ``cards/<concept>.json``, ``puzzles/<concept>/phase1.json``,
``puzzles/<concept>/phase3.json``, ``puzzles/index.json``, and the same puzzles in
the domain's own text forms (``Domain.puzzle_files``; PGN and EPD for chess):
``puzzles/<concept>/phase1.<ext>`` and ``phase3.<ext>`` (positions only),
``phase2.<ext>`` (phase 1's positions with the agent's move and line) and
``phase3-solutions.<ext>`` (the answer key of phase 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from conceptlab.errors import ComponentError
from conceptlab.interfaces.domain import Domain
from conceptlab.run.context import StageContext
from conceptlab.run.worker import components_for
from conceptlab.rundir import atomic_write_bytes
from conceptlab.stages.amplify import surviving_ids
from conceptlab.stages.common import checkpoint_series, load_activations
from conceptlab.stages.mine import concept_from_record, load_candidates
from conceptlab.values import Puzzle

__all__ = ["Allocation", "allocate_positions", "puzzle_text_files", "run_export", "strongest_candidates"]

PUZZLE_FILES: tuple[tuple[str, str, bool], ...] = (
    ("phase1", "phase1", False),
    ("phase2", "phase1", True),
    ("phase3", "phase3", False),
    ("phase3-solutions", "phase3", True),
)
"""(file stem, puzzles of phase, with solutions) of the text puzzle files of each concept."""

_EXTENSION = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Allocation:
    """Which pool positions became whose puzzles (:func:`allocate_positions`)."""

    puzzles: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]]
    """Concept id -> (phase-1 pool indices, phase-3 pool indices), each best-ranked first."""
    skipped: int
    """Candidates passed over because their position was already another puzzle."""


def allocate_positions(
    rankings: Mapping[str, Sequence[int]],
    keys: Sequence[str],
    per_phase: int,
    rng: np.random.Generator,
) -> Allocation:
    """Give each concept up to ``2 * per_phase`` pool positions, no position twice.

    Concepts take turns, one position per turn, in an order drawn from ``rng``
    afresh each round; a concept takes its best-ranked candidate whose position
    (``keys[i]``, the domain's ``position_key``) no puzzle holds yet. A concept's
    first ``per_phase`` picks are its phase-1 puzzles, the next ones its phase-3
    puzzles; when the pool runs out, a concept's picks are split as evenly as
    they allow, phase 1 first.

    Args:
        rankings: concept id -> pool indices, the concept's best candidate first.
        keys: the position key of each pool index.
        per_phase: puzzles per concept and phase.
        rng: draws the turn order.
    """
    picks: dict[str, list[int]] = {cid: [] for cid in rankings}
    cursor = dict.fromkeys(rankings, 0)
    used: set[str] = set()
    skipped = 0
    concepts = list(rankings)
    for _ in range(2 * per_phase):
        for turn in rng.permutation(len(concepts)):
            cid = concepts[int(turn)]
            ranking = rankings[cid]
            while cursor[cid] < len(ranking):
                index = int(ranking[cursor[cid]])
                cursor[cid] += 1
                if keys[index] in used:
                    skipped += 1
                    continue
                used.add(keys[index])
                picks[cid].append(index)
                break
    puzzles = {}
    for cid, chosen in picks.items():
        first = min(per_phase, (len(chosen) + 1) // 2)
        puzzles[cid] = (tuple(chosen[:first]), tuple(chosen[first:]))
    return Allocation(puzzles, skipped)


def strongest_candidates(
    teach: Mapping[str, Mapping[str, Any]], novelty: Mapping[str, Mapping[str, Any]], count: int
) -> list[str]:
    """The ``count`` strongest candidates the teach stage assessed, strongest first.

    Ranked by the number of filters passed, then the teachability p-value (smallest
    first; missing or NaN last), then the teachability effect (largest first), then
    mining order. ``teach`` and ``novelty`` map concept ids to their verdicts' JSON.
    """
    def number(verdict: Mapping[str, Any] | None, key: str, missing: float) -> float:
        value = float((verdict or {}).get("scores", {}).get(key, missing))
        return value if np.isfinite(value) else missing

    def key(item: tuple[int, str]) -> tuple[float, ...]:
        order, cid = item
        passed = int(bool(teach[cid]["passed"])) + int(bool((novelty.get(cid) or {}).get("passed", False)))
        return (-passed, number(teach[cid], "p_value", np.inf), -number(teach[cid], "effect", -np.inf), order)

    ranked = sorted(enumerate(teach), key=key)
    return [cid for _, cid in ranked[:count]]


def _solve_unit(payload: Mapping[str, Any]) -> dict[str, Any]:
    comps = components_for(payload["spec"])
    domain = comps.domain
    state = domain.from_text(payload["state"])
    result = comps.search.run(state, comps.agent(payload["checkpoint"]), np.random.default_rng(payload["seed"]))
    line, current = [], state
    for action in result.principal_variation:
        line.append(domain.action_to_text(current, action))
        current = domain.apply(current, action)
    return {
        "state": payload["state"],
        "solution": domain.action_to_text(state, result.chosen_action),
        "solution_action": int(result.chosen_action),
        "line": line,
        "value": float(result.root_value),
    }


def _lines_text(domain: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    def moves(line: Mapping[str, Any]) -> list[str]:
        out = []
        for text, action in zip(line["states"], line["actions"], strict=False):
            out.append(domain.action_to_text(domain.from_text(text), action))
        return out

    return {
        "chosen": moves(record["chosen"]),
        "rejected": [
            {"branch_depth": s["branch_depth"], "moves": moves(s)} for s in record["subpar"]
        ],
    }


def puzzle_text_files(
    domain: Domain[Any], concept_id: str, phases: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, str]:
    """A concept's puzzles in the domain's text forms: ``"<stem>.<ext>"`` -> text.

    ``phases`` maps ``"phase1"`` and ``"phase3"`` to the puzzles as the export
    stage writes them in JSON; the stems are those of :data:`PUZZLE_FILES`.

    Raises:
        ComponentError: the domain returned a file extension that is not ``[a-z0-9]+``.
    """
    files = {}
    for stem, phase, solutions in PUZZLE_FILES:
        puzzles = [
            Puzzle(p["state"], p["solution"], int(p["solution_action"]), tuple(p["line"]), float(p["value"]))
            for p in phases[phase]
        ]
        label = f"{concept_id} {stem.replace('-', ' ')}"
        for ext, text in domain.puzzle_files(label, puzzles, solutions).items():
            if not _EXTENSION.fullmatch(ext):
                raise ComponentError(
                    f"domain {domain.name!r}: puzzle_files returned the extension {ext!r}; "
                    "use lower-case letters and digits only"
                )
            files[f"{stem}.{ext}"] = text
    return files


def run_export(ctx: StageContext) -> dict[str, Any]:
    cfg = ctx.spec.stages.export
    comps = ctx.components
    domain = comps.domain
    survivors = set(surviving_ids(ctx))
    teach = {v["concept_id"]: v for v in ctx.read_stage_json("teach", "summary.json")}
    novelty = {v["concept_id"]: v for v in ctx.read_stage_json("novelty", "summary.json")}
    curves = {c["concept_id"]: c for c in ctx.read_stage_json("amplify", "summary.json")}
    fallback = set(strongest_candidates(teach, novelty, cfg.fallback_concepts)) if (
        cfg.fallback == "strongest" and not survivors
    ) else set()
    chosen = [
        r for r in load_candidates(ctx)
        if r["id"] in survivors or (cfg.include_failed and r["id"] in teach) or r["id"] in fallback
    ]
    pool = ctx.read_stage_json("collect", "pool.json")
    rollouts = ctx.read_stage_json("collect", "rollouts.json")
    final = checkpoint_series(ctx)[-1].path
    k = cfg.puzzles_per_phase

    rankings: dict[str, list[int]] = {}
    for record in chosen:
        concept = concept_from_record(record, ctx.spec.name)
        acts = load_activations(ctx.run.path / "collect" / "pool_acts", concept.layer)
        rankings[concept.id] = [int(i) for i in np.argsort(-concept.presence(acts), kind="stable")]
    keys = [domain.position_key(domain.from_text(text)) for text in pool]
    allocation = allocate_positions(rankings, keys, k, ctx.rng("export", "allocation"))
    puzzle_states = {
        cid: [pool[i] for i in (*phase1, *phase3)] for cid, (phase1, phase3) in allocation.puzzles.items()
    }
    flat = [(cid, s) for cid, states in puzzle_states.items() for s in states]
    payloads = [
        {"spec": ctx.run.spec_data, "checkpoint": final, "state": s, "seed": ctx.seed("solve", cid, s)}
        for cid, s in flat
    ]
    solved = ctx.units("solutions", _solve_unit, payloads, desc="puzzle solutions")

    index, unplaced = [], []
    for record in chosen:
        cid = record["id"]
        puzzles = [p for (c, _), p in zip(flat, solved, strict=True) if c == cid]
        first = len(allocation.puzzles[cid][0])
        phases = {"phase1": puzzles[:first], "phase3": puzzles[first:]}
        if not phases["phase1"] or not phases["phase3"]:
            unplaced.append(cid)  # the pool ran out before this concept had a puzzle in each phase
            continue
        for phase, items in phases.items():
            ctx.write_json(f"puzzles/{cid}/{phase}.json", items)
        text_files = puzzle_text_files(domain, cid, phases)
        for name, text in text_files.items():
            atomic_write_bytes(ctx.dir / "puzzles" / cid / name, text.encode())
        card = {
            "id": cid,
            "control": cid not in survivors,
            "layer": record["layer"],
            "vector": record["vector"],
            "provenance": concept_from_record(record, ctx.spec.name).provenance,
            "metrics": record["metrics"],
            "teachability": teach.get(cid),
            "novelty": novelty.get(cid),
            "amplification": curves.get(cid),
            "prototypes": puzzle_states[cid],
            "agent_lines": _lines_text(domain, rollouts[record["position"]]),
        }
        ctx.write_json(f"cards/{cid}.json", card)
        index.append({"id": cid, "control": card["control"], "phase1": len(phases["phase1"]),
                      "phase3": len(phases["phase3"]), "files": sorted(text_files)})
    ctx.write_json("puzzles/index.json", {
        "domain": ctx.spec.domain.name,
        "domain_params": domain.params.model_dump(mode="json"),
        "positions_skipped_as_used": allocation.skipped,
        "concepts_without_positions": unplaced,
        "fallback": "strongest" if fallback else None,
        "concepts": index,
    })
    return {
        "concepts_exported": sum(1 for i in index if not i["control"]),
        "controls_exported": sum(1 for i in index if i["control"]),
        "puzzles": sum(i["phase1"] + i["phase3"] for i in index),
        "puzzle_files": sum(len(i["files"]) for i in index),
        "positions_skipped_as_used": allocation.skipped,
        "concepts_without_positions": len(unplaced),
        "fallback_controls": sum(1 for i in index if i["id"] in fallback),
    }
