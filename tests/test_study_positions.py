"""One position, one puzzle: the export's allocation across concepts and phases, the loader's check,
and puzzle sets that record their domain's params (OpenSpiel games)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from conceptlab.plugins import get_registry
from conceptlab.stages.export import allocate_positions
from conceptlab.study import ConceptPuzzles, Puzzle, PuzzleSet, load_puzzle_set, write_puzzle_set
from conceptlab.study.commands import add_study_commands, open_study
from conceptlab.study.errors import PuzzleSetError
from conceptlab.testing.tictactoe import TicTacToe

# -- allocation ----------------------------------------------------------------------------


def test_every_concept_gets_its_share_without_reuse_and_skips_are_counted() -> None:
    keys = [f"pos{i}" for i in range(12)]
    same = list(range(12))
    allocation = allocate_positions({"a": same, "b": same, "c": same}, keys, 2, np.random.default_rng(0))
    used = [i for phase1, phase3 in allocation.puzzles.values() for i in (*phase1, *phase3)]
    assert sorted(used) == list(range(12))
    assert all((len(p1), len(p3)) == (2, 2) for p1, p3 in allocation.puzzles.values())
    # a concept passes over what the others took since its last turn; each ends just past its last
    # pick, and the last round took 9, 10 and 11: (10 + 11 + 12) read - 12 taken = 21 passed over
    assert {max(p1 + p3) for p1, p3 in allocation.puzzles.values()} == {9, 10, 11}
    assert allocation.skipped == 21


def test_positions_with_one_key_are_one_position() -> None:
    keys = ["same", "same", "other", "third"]  # pool entries 0 and 1: one position, two texts
    allocation = allocate_positions({"a": [0, 1, 2, 3]}, keys, 1, np.random.default_rng(0))
    assert allocation.puzzles["a"] == ((0,), (2,)) and allocation.skipped == 1


def test_allocation_is_determined_by_the_rng() -> None:
    rankings = {c: list(np.random.default_rng(i).permutation(30)) for i, c in enumerate("abcde")}
    keys = [f"pos{i}" for i in range(30)]
    first = allocate_positions(rankings, keys, 3, np.random.default_rng(5))
    assert first == allocate_positions(rankings, keys, 3, np.random.default_rng(5))
    others = [allocate_positions(rankings, keys, 3, np.random.default_rng(seed)).puzzles for seed in range(6, 12)]
    assert any(o != first.puzzles for o in others)  # the turn order matters, and comes from the seed


def test_a_pool_too_small_splits_what_is_left_phase_1_first() -> None:
    keys = [f"pos{i}" for i in range(5)]
    same = list(range(5))
    allocation = allocate_positions({"a": same, "b": same}, keys, 2, np.random.default_rng(0))
    shares = sorted((len(p1), len(p3)) for p1, p3 in allocation.puzzles.values())
    assert shares == [(1, 1), (2, 1)]


# -- the loader's check ----------------------------------------------------------------------

def _puzzle(domain: TicTacToe, text: str) -> Puzzle:
    state = domain.from_text(text)
    action = domain.legal_actions(state)[0]
    return Puzzle(text, domain.action_to_text(state, action), action, (str(action),), 0.0)


def test_a_set_holding_a_position_twice_is_refused_naming_both_puzzles(tmp_path: Path) -> None:
    domain = TicTacToe()
    p = {t: _puzzle(domain, t) for t in ("XX.OO....", "...XX.OO.", "XO.XO....", ".XO.XO...")}
    reused = PuzzleSet("tictactoe", (
        ConceptPuzzles("a", False, (p["XX.OO...."],), (p["...XX.OO."],)),
        ConceptPuzzles("b", True, (p["XO.XO...."],), (p["XX.OO...."],)),  # b's phase 3 is a's phase 1
    ))
    root = write_puzzle_set(tmp_path / "reused", reused)
    for given in (None, domain):
        with pytest.raises(PuzzleSetError) as error:
            load_puzzle_set(root, given)
        message = str(error.value)
        assert f"{root / 'a' / 'phase1.json'}[0] and {root / 'b' / 'phase3.json'}[0]" in message
        assert "'XX.OO....'" in message and "\n" not in message


def test_positions_are_compared_by_the_domains_key_not_their_text(tmp_path: Path) -> None:
    class Padded(TicTacToe):
        """Tic-tac-toe whose text may carry a trailing comment, as chess text carries moves."""

        def from_text(self, text: str):
            return super().from_text(text.split(" ")[0])

        def position_key(self, state) -> str:
            return self.to_text(state)

    domain = Padded()
    a, b = _puzzle(domain, "XX.OO...."), _puzzle(domain, "...XX.OO.")
    annotated = Puzzle("XX.OO.... after 4 moves", a.solution, a.solution_action, a.line, a.value)
    root = write_puzzle_set(tmp_path / "annotated", PuzzleSet("tictactoe", (
        ConceptPuzzles("a", False, (a,), (b,)), ConceptPuzzles("b", False, (_puzzle(domain, "XO.XO...."),),
                                                                (annotated,)),
    )))
    load_puzzle_set(root)  # without a domain, texts differ
    with pytest.raises(PuzzleSetError, match=r"a/phase1\.json\[0\] and .*b/phase3\.json\[0\] are the same position"):
        load_puzzle_set(root, domain)


# -- domain params ----------------------------------------------------------------------------

def test_chess_positions_with_one_fen_and_other_histories_have_one_key() -> None:
    chess_domain = get_registry().create("domain", "chess", {})
    start = chess_domain.initial_state()
    after = chess_domain.apply(start, chess_domain.action_from_text(start, "g1f3"))
    back = chess_domain.apply(after, chess_domain.action_from_text(after, "g8f6"))
    back = chess_domain.apply(back, chess_domain.action_from_text(back, "f3g1"))
    back = chess_domain.apply(back, chess_domain.action_from_text(back, "f6g8"))
    assert chess_domain.to_text(back) != chess_domain.to_text(start)
    assert chess_domain.position_key(back) == chess_domain.position_key(start)
    assert chess_domain.position_key(start) == "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq -"


def test_an_openspiel_connect_four_set_opens_with_its_game(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyspiel")
    registry = get_registry()
    domain = registry.create("domain", "openspiel", {"game": "connect_four"})
    states, state = [], domain.initial_state()
    for _ in range(4):
        state = domain.apply(state, domain.legal_actions(state)[0])
        states.append(state)

    def puzzle(s) -> Puzzle:
        action = domain.legal_actions(s)[-1]
        return Puzzle(domain.to_text(s), domain.action_to_text(s, action), action, (domain.action_to_text(s, action),), 0.0)

    params = domain.params.model_dump(mode="json")
    root = write_puzzle_set(tmp_path / "c4", PuzzleSet("openspiel", (
        ConceptPuzzles("c", False, (puzzle(states[0]),), (puzzle(states[1]),)),
        ConceptPuzzles("d", True, (puzzle(states[2]),), (puzzle(states[3]),)),
    ), domain_params=params))
    assert json.loads((root / "index.json").read_text())["domain_params"]["game"] == "connect_four"

    store, built = open_study(str(root), str(tmp_path / "c4.db"), registry)
    assert built.params.model_dump(mode="json") == params and store.domain_params == params
    _, reopened = open_study(None, str(tmp_path / "c4.db"), registry)  # from the database alone
    assert reopened.params.model_dump(mode="json") == params
    parser = argparse.ArgumentParser(prog="conceptlab")
    add_study_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["study", "create", "--puzzles", str(root), "--db", str(tmp_path / "cli.db")])
    assert args.func(args, registry) == 0
    assert "domain 'openspiel', 1 concepts, 1 controls, 4 puzzles" in capsys.readouterr().out


def test_a_set_without_params_keeps_its_fingerprint(tmp_path: Path) -> None:
    domain = TicTacToe()
    concepts = (ConceptPuzzles("a", False, (_puzzle(domain, "XX.OO...."),), (_puzzle(domain, "...XX.OO."),)),)
    plain, with_params = PuzzleSet("tictactoe", concepts), PuzzleSet("tictactoe", concepts, {"size": 3})
    assert plain.fingerprint() != with_params.fingerprint()
    root = tmp_path / "old"
    write_puzzle_set(root, plain)
    index = json.loads((root / "index.json").read_text())
    del index["domain_params"]  # as written before params were recorded
    (root / "index.json").write_text(json.dumps(index))
    assert load_puzzle_set(root).fingerprint() == plain.fingerprint()


@pytest.mark.slow
def test_a_real_connect_four_export_opens_in_the_study_with_no_position_twice(tmp_path: Path) -> None:
    pytest.importorskip("pyspiel")
    from conceptlab.pipeline import run_pipeline
    from conceptlab.spec import STAGES, load_spec
    from test_export import _AcceptAll

    registry = get_registry(extra_plugins=[("accept", _AcceptAll())])
    spec = load_spec(Path(__file__).resolve().parents[1] / "specs" / "connect_four-tiny.toml",
                     ["teachability.name=accept-all", "novelty.name=accept-all", "teachability.params={}"])
    run = tmp_path / "c4"
    run_pipeline(spec, run, registry=registry, progress=False, stages=[s for s in STAGES if s != "probe"])
    puzzles = run / "export" / "puzzles"
    index = json.loads((puzzles / "index.json").read_text())
    assert index["domain"] == "openspiel" and index["domain_params"]["game"] == "connect_four"

    store, domain = open_study(str(puzzles), str(tmp_path / "c4.db"), registry)
    keys = [domain.position_key(domain.from_text(p.puzzle.state)) for p in store.puzzles()]
    assert len(keys) == len(set(keys)) == 2 * spec.stages.export.puzzles_per_phase * len(index["concepts"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["export"]["figures"]["positions_skipped_as_used"] == index["positions_skipped_as_used"]
