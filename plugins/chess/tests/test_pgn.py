"""The PGN reader skips broken games with a reason, filters by headers, and reads compressed files."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest
import zstandard

from conceptlab.errors import InvalidActionError
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.pgn import PgnFilter, PgnSourceError, PgnStats, parse_game, read_games, time_control_category


def game(white: str, black: str, moves: str, **tags: str) -> str:
    headers = {"Event": "test", "White": white, "Black": black, "Result": "*", **tags}
    return "".join(f'[{k} "{v}"]\n' for k, v in headers.items()) + "\n" + moves + " *\n\n"


CORPUS = "".join([
    game("Anna", "Ben", "1. e4 e5 2. Nf3 Nc6 3. Bb5 a6", WhiteElo="1850", BlackElo="1900", TimeControl="300+3"),
    game("Cleo", "Dan", "1. e4 e5 2. Ke3 Nc6"),                                   # illegal move
    game("Eve", "Finn", "1. e4", FEN="8/8/8/8/8/8/8/8 w - - 0 1", SetUp="1"),     # no kings
    game("Gus", "Hal", "1. e4 e5", Variant="Atomic"),                             # a variant
    game("Ida", "Jon", "1. d4 d5 2. c4 (2. Nf3 Nf6) 2... e6", WhiteElo="2400", BlackElo="2350", TimeControl="5400+30"),
    game("Kai", "Lea", "1. d4 Nf6 2. c4 g6", WhiteElo="1200", BlackElo="1250", TimeControl="60+0"),
    game("Max", "Ned", "1. Nf3 Nf6 2. Qd3"),                                      # illegal move
    game("Ola", "Pia", "1. c4 e5 2. Nc3 Nf6", WhiteElo="?", BlackElo="2000", TimeControl="-"),
    "this line is not PGN at all { an unclosed comment\n\n",
])


@pytest.fixture(params=["pgn", "pgn.gz", "pgn.bz2", "pgn.zst"])
def corpus_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"games.{request.param}"
    data = CORPUS.encode()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    elif path.suffix == ".bz2":
        data = bz2.compress(data)
    elif path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def test_broken_games_are_skipped_and_counted_by_reason(corpus_file: Path) -> None:
    stats = PgnStats()
    games = list(read_games(corpus_file, stats=stats))
    assert [g.headers["White"] for g in games] == ["Anna", "Ida", "Kai", "Ola"]
    assert stats.skipped["illegal move"] == 2
    assert stats.skipped["invalid FEN"] == 1
    assert stats.skipped["variant"] == 1
    assert stats.filtered["no moves"] == 1  # the trailing garbage
    assert stats.kept == 4 and stats.read == stats.kept + stats.total_skipped + sum(stats.filtered.values())
    assert any("Cleo - Dan" in line and "Ke3" in line for line in stats.examples)
    assert "skipped (illegal move: 2" in stats.summary()


def test_variations_are_dropped_and_the_main_line_kept(corpus_file: Path) -> None:
    ida = next(g for g in read_games(corpus_file) if g.headers["White"] == "Ida")
    assert [m.uci() for m in ida.moves] == ["d2d4", "d7d5", "c2c4", "e7e6"]


def test_rating_and_time_control_filters(corpus_file: Path) -> None:
    stats = PgnStats()
    strong = PgnFilter(min_rating=1800, time_controls=frozenset({"blitz", "classical"}))
    kept = [g.headers["White"] for g in read_games(corpus_file, strong, stats)]
    assert kept == ["Anna", "Ida"]
    assert stats.filtered["rating below minimum"] == 1
    assert stats.filtered["rating unknown"] == 5  # Cleo, Eve, Max, Ola and the garbage
    weak = PgnFilter(max_rating=1500)
    assert [g.headers["White"] for g in read_games(corpus_file, weak)] == ["Kai"]


@pytest.mark.parametrize(
    "tag, category",
    [("60+0", "bullet"), ("180+2", "blitz"), ("600+0", "rapid"), ("5400+30", "classical"),
     ("15+0", "ultrabullet"), ("-", "correspondence"), ("?", None), (None, None)],
)
def test_time_control_categories(tag: str | None, category: str | None) -> None:
    assert time_control_category(tag) == category


def test_domain_reads_reference_games_as_state_lists(corpus_file: Path) -> None:
    domain = ChessDomain(ChessDomain.Params(history=2, reference_min_rating=2000))
    stats = PgnStats()
    games = list(domain.reference_games(str(corpus_file), stats))
    assert len(games) == 1 and len(games[0]) == 5  # Ida - Jon: start + 4 plies
    assert games[0][-1].fen.startswith("rnbqkbnr/ppp2ppp/4p3/3p4/2PP4/")
    assert domain.to_text(games[0][-1]).endswith(" moves d2d4 d7d5 c2c4 e7e6")  # the game's moves, kept
    # the filter reads headers only, so of the broken games only the variant is seen
    assert stats.kept == 1 and dict(stats.skipped) == {"variant": 1}
    assert stats.filtered["rating unknown"] == 5 and stats.filtered["rating below minimum"] == 2


def test_max_games_stops_early(corpus_file: Path) -> None:
    domain = ChessDomain(ChessDomain.Params(history=1, reference_max_games=2))
    assert len(list(domain.reference_games(str(corpus_file)))) == 2


def test_strict_parse_of_a_game_with_an_illegal_move_names_it() -> None:
    with pytest.raises(InvalidActionError, match=r"Cleo - Dan.*Ke3"):
        parse_game(game("Cleo", "Dan", "1. e4 e5 2. Ke3 Nc6"))
    assert len(parse_game(game("A", "B", "1. e4 e5")).moves) == 2


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pgn.zst"
    with pytest.raises(PgnSourceError, match="PGN file not found.*nowhere.pgn.zst"):
        list(read_games(missing))
