"""lc0 weight files, move tables and input planes, without the fetched networks.

Tiny lc0 files are written here by :func:`write_weights` for the formats a
real net may use (classical or convolutional policy, classical or WDL value,
with or without squeeze-excitation) and read back; files of formats the
reader does not serve are refused with one line naming the format.
"""

from __future__ import annotations

import gzip
import struct

import chess
import numpy as np
import pytest
import torch

from conceptlab.errors import CheckpointError

from conceptlab_chess.encoding import NUM_ACTIONS, move_index
from conceptlab_chess.lc0.moves import CONV_TO_LC0, LC0_MOVES, NUM_LC0_MOVES, action_table, lc0_index
from conceptlab_chess.lc0.net import Lc0Net
from conceptlab_chess.lc0.planes import encode_lc0
from conceptlab_chess.lc0.proto import Fixed32, encode_message, parse_message
from conceptlab_chess.lc0.weights import (
    ConvBlock,
    Lc0Weights,
    Residual,
    SqueezeExcitation,
    parse_weights,
    read_weights,
    write_weights,
)

# -- the move tables ---------------------------------------------------------------------------------------


def test_the_move_list_follows_the_published_order():
    # entries of the LCZero training code's policy_index, checked at their positions
    assert len(LC0_MOVES) == NUM_LC0_MOVES == len(set(LC0_MOVES))
    expected = {0: "a1b1", 6: "a1h1", 7: "a1a2", 11: "a1b3", 22: "a1h8", 23: "b1a1", 1791: "h8g8",
                1792: "a7a8q", 1793: "a7a8r", 1794: "a7a8b", 1795: "a7b8q", 1857: "h7h8b"}
    assert {i: LC0_MOVES[i] for i in expected} == expected
    assert sum(len(m) == 5 for m in LC0_MOVES) == 66


def test_the_convolutional_map_covers_every_move_once():
    used = CONV_TO_LC0[CONV_TO_LC0 >= 0]
    assert sorted(used.tolist()) == list(range(NUM_LC0_MOVES))
    # plane 0 (north, one step) from e2 is e2e3; knight plane 56 (+1 file, +2 ranks) from g1 is g1h3
    assert LC0_MOVES[CONV_TO_LC0[0 * 64 + chess.E2]] == "e2e3"
    assert LC0_MOVES[CONV_TO_LC0[56 * 64 + chess.G1]] == "g1h3"
    # promotion planes 64..72: file delta -1, 0, +1, each as rook, bishop, queen
    assert LC0_MOVES[CONV_TO_LC0[(64 + 3 * 1 + 2) * 64 + chess.B7]] == "b7b8q"
    assert LC0_MOVES[CONV_TO_LC0[(64 + 3 * 0 + 0) * 64 + chess.B7]] == "b7a8r"
    assert (CONV_TO_LC0.reshape(80, 64)[73:] == -1).all()


def _random_positions(games: int, seed: int) -> list[chess.Board]:
    rng = np.random.default_rng(seed)
    boards = []
    for _ in range(games):
        board = chess.Board()
        while not board.is_game_over() and board.ply() < 160:
            boards.append(board.copy(stack=False))
            moves = list(board.legal_moves)
            promotions = [m for m in moves if m.promotion]
            pick = promotions if promotions and rng.random() < 0.5 else moves
            board.push(pick[int(rng.integers(len(pick)))])
    return boards


def test_domain_actions_map_to_the_lc0_index_of_the_same_move():
    plain, queen = action_table()
    boards = _random_positions(30, 0)
    promoted = 0
    for board in boards:
        seen = set()
        for move in board.legal_moves:
            action = move_index(move, board.turn)
            expected = lc0_index(move, board.turn)
            got = queen[action] if move.promotion == chess.QUEEN else plain[action]
            assert got == expected, (board.fen(), move.uci())
            seen.add(got)
            promoted += move.promotion is not None
        assert len(seen) == board.legal_moves.count()  # distinct legal moves, distinct lc0 moves
    assert promoted > 20  # the games reached promotions of both colours
    assert (plain < NUM_LC0_MOVES).sum() == NUM_LC0_MOVES and NUM_ACTIONS == 4672


def test_moves_are_read_from_the_side_to_move():
    assert LC0_MOVES[lc0_index(chess.Move.from_uci("e7e5"), chess.BLACK)] == "e2e4"
    assert LC0_MOVES[lc0_index(chess.Move.from_uci("a2a1q"), chess.BLACK)] == "a7a8q"
    assert LC0_MOVES[lc0_index(chess.Move.from_uci("a2a1n"), chess.BLACK)] == "a7a8"
    assert LC0_MOVES[lc0_index(chess.Move.from_uci("e8g8"), chess.BLACK)] == "e1g1"


# -- input planes ------------------------------------------------------------------------------------------


def test_planes_of_the_start_position_and_after_a_move(domain):
    start = domain.initial_state()
    x = encode_lc0([start])[0]
    assert x.shape == (112, 8, 8)
    assert x[0, 1].sum() == 8 and x[6, 6].sum() == 8  # our pawns on rank 2, theirs on rank 7
    assert x[5, 0, 4] == 1 and x[11, 7, 4] == 1  # kings on e1 and e8
    assert x[13:104].sum() == 0  # no history before the first move
    assert (x[104:108] == 1).all() and x[108].sum() == 0 and (x[111] == 1).all()
    after = domain.apply_move(start, chess.Move.from_uci("e2e4"))
    y = encode_lc0([after])[0]
    # Black to move: mirrored, black's pieces first; the previous position (before e4) in slot 1
    assert y[0, 1].sum() == 8 and y[6, 4, 4] == 1  # white's e-pawn on e4, seen from black at row 4
    assert (y[108] == 1).all()
    assert y[13 + 6, 6, 4] == 1 and y[13 + 6, 4, 4] == 0  # slot 1: white's e-pawn still on e2 (row 6)
    assert y[26:104].sum() == 0


def test_a_fen_state_repeats_its_position_and_repetitions_are_marked(domain):
    state = domain.from_text("4k3/8/8/8/8/8/8/4K2R w K - 7 40")
    x = encode_lc0([state])[0]
    for slot in range(8):
        np.testing.assert_array_equal(x[13 * slot:13 * slot + 12], x[:12])
    assert x[109, 0, 0] == 7  # the fifty-move counter in plies, unscaled
    s = domain.initial_state()
    for uci in ("g1f3", "g8f6", "f3g1", "f6g8"):
        s = domain.apply_move(s, chess.Move.from_uci(uci))
    x = encode_lc0([s])[0]
    assert (x[12] == 1).all()  # the start position again: a repetition
    assert x[13 * 4 + 12].sum() == 0  # the first occurrence, four plies back, is not


# -- reading and writing files -----------------------------------------------------------------------------


def _conv(rng, out, inp, k, bn=True, bias=False):
    return ConvBlock(
        weights=rng.normal(0, 0.2, (out, inp, k, k)).astype(np.float32),
        biases=rng.normal(0, 0.1, out).astype(np.float32) if bias else None,
        means=rng.normal(0, 0.1, out).astype(np.float32) if bn else None,
        variances=rng.uniform(0.5, 1.5, out).astype(np.float32) if bn else None,
        gammas=rng.uniform(0.5, 1.5, out).astype(np.float32) if bn else None,
        betas=rng.normal(0, 0.1, out).astype(np.float32) if bn else None,
    )


def tiny_weights(*, policy: str, value: str, se: bool, seed: int = 0, filters: int = 8) -> Lc0Weights:
    rng = np.random.default_rng(seed)
    f = filters
    blocks = []
    for _ in range(2):
        unit = None
        if se:
            unit = SqueezeExcitation(rng.normal(0, 0.3, (2, f)).astype(np.float32), rng.normal(0, .1, 2).astype(np.float32),
                                     rng.normal(0, 0.3, (2 * f, 2)).astype(np.float32), rng.normal(0, .1, 2 * f).astype(np.float32))
        blocks.append(Residual(_conv(rng, f, f, 3), _conv(rng, f, f, 3), unit))
    conv_policy = policy == "POLICY_CONVOLUTION"
    outputs = 3 if value == "VALUE_WDL" else 1
    return Lc0Weights(
        input=_conv(rng, f, 112, 3), residual=tuple(blocks),
        policy=_conv(rng, 80, f, 3, bn=False, bias=True) if conv_policy else _conv(rng, 4, f, 1),
        policy1=_conv(rng, f, f, 3) if conv_policy else None,
        ip_pol_w=None if conv_policy else rng.normal(0, 0.1, (NUM_LC0_MOVES, 4 * 64)).astype(np.float32),
        ip_pol_b=None if conv_policy else rng.normal(0, 0.1, NUM_LC0_MOVES).astype(np.float32),
        value=_conv(rng, 2, f, 1), ip1_val_w=rng.normal(0, 0.1, (16, 2 * 64)).astype(np.float32),
        ip1_val_b=rng.normal(0, 0.1, 16).astype(np.float32),
        ip2_val_w=rng.normal(0, 0.3, (outputs, 16)).astype(np.float32), ip2_val_b=np.zeros(outputs, np.float32),
        policy_format=policy, value_format=value,
        network_format="NETWORK_SE_WITH_HEADFORMAT" if se else "NETWORK_CLASSICAL_WITH_HEADFORMAT",
    )


@pytest.mark.parametrize("policy", ["POLICY_CLASSICAL", "POLICY_CONVOLUTION"])
@pytest.mark.parametrize("value", ["VALUE_CLASSICAL", "VALUE_WDL"])
@pytest.mark.parametrize("se", [False, True])
def test_files_round_trip_and_compute_the_same_network(tmp_path, domain, policy, value, se):
    weights = tiny_weights(policy=policy, value=value, se=se)
    path = write_weights(weights, tmp_path / "tiny.pb.gz")
    back = read_weights(path)
    assert back.describe() == weights.describe()
    assert (back.policy_format, back.value_format, back.se_channels) == (policy, value, 2 if se else None)
    # LINEAR16 keeps each value within 1/65535 of its layer's range
    step = (weights.input.weights.max() - weights.input.weights.min()) / 65535
    assert np.abs(back.input.weights - weights.input.weights).max() <= step
    x = torch.from_numpy(encode_lc0([domain.initial_state()]))
    with torch.no_grad():
        p1, v1 = Lc0Net(weights).eval()(x)
        p2, v2 = Lc0Net(back).eval()(x)
    assert p1.shape == (1, NUM_LC0_MOVES) and v1.shape == (1,)
    # the quantisation error grows with depth: within 0.1% of the logits' scale
    assert float((p1 - p2).abs().max()) <= 1e-3 * float(p1.abs().max()) and torch.allclose(v1, v2, atol=2e-3)
    assert -1 <= float(v1) <= 1


def test_uncompressed_files_are_read_too(tmp_path):
    weights = tiny_weights(policy="POLICY_CONVOLUTION", value="VALUE_WDL", se=True)
    path = write_weights(weights, tmp_path / "tiny.pb", compress=False)
    assert read_weights(path).describe() == weights.describe()


def test_the_squeeze_excitation_gates_then_shifts():
    weights = tiny_weights(policy="POLICY_CONVOLUTION", value="VALUE_WDL", se=True)
    net = Lc0Net(weights).eval()
    se = net.blocks[0].se
    x = torch.randn(2, 8, 8, 8)
    pooled = x.mean(dim=(2, 3))
    hidden = np.maximum(pooled.numpy() @ weights.residual[0].se.w1.T + weights.residual[0].se.b1, 0)
    out = hidden @ weights.residual[0].se.w2.T + weights.residual[0].se.b2
    gate, shift = 1 / (1 + np.exp(-out[:, :8])), out[:, 8:]
    expected = gate[:, :, None, None] * x.numpy() + shift[:, :, None, None]
    np.testing.assert_allclose(se(x).detach().numpy(), expected, atol=1e-5)


def _net_message(format_fields: dict, weights: dict | None = None) -> bytes:
    body = weights if weights is not None else {1: [{1: [{3: [b"\x00\x00"]}]}]}
    return encode_message({1: [Fixed32(0x1C0)], 4: [{1: [1], 2: [format_fields]}], 10: [body]})


@pytest.mark.parametrize(
    "fields, weights, named",
    [
        ({1: [3], 3: [4], 4: [2], 5: [2]}, None, "INPUT_112_WITH_CANONICALIZATION"),
        ({1: [1], 3: [6], 4: [3], 5: [2]}, None, "NETWORK_ATTENTIONBODY_WITH_HEADFORMAT"),
        ({1: [1], 3: [4], 4: [3], 5: [2]}, None, "POLICY_ATTENTION"),
        ({1: [1], 3: [4], 4: [2], 5: [3]}, None, "VALUE_PARAM"),
        ({1: [1], 3: [4], 4: [2], 5: [2], 7: [1]}, None, "DEFAULT_ACTIVATION_MISH"),
        ({1: [1], 3: [5], 4: [2], 5: [2]}, None, "NETWORK_ONNX"),
        ({1: [1], 3: [4], 4: [2], 5: [2]}, {21: [{}], 1: [{}]}, "pol_encoder"),
    ],
)
def test_formats_not_served_are_refused_naming_them(fields, weights, named):
    with pytest.raises(CheckpointError) as info:
        parse_weights(_net_message(fields, weights), "net.pb")
    message = str(info.value)
    assert named in message and "\n" not in message


def test_files_that_are_not_lc0_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not an lc0 weight file"):
        parse_weights(encode_message({2: ["hello"]}))
    with pytest.raises(CheckpointError, match="truncated"):
        parse_weights(_net_message({1: [1]})[:-3])
    broken = tmp_path / "broken.pb.gz"
    broken.write_bytes(gzip.compress(b"\x0d" + struct.pack("<I", 0x1C0))[:-6])
    with pytest.raises(CheckpointError, match="broken gzip"):
        read_weights(broken)
    with pytest.raises(CheckpointError, match="cannot read"):
        read_weights(tmp_path / "missing.pb.gz")


def test_the_wire_format_round_trips():
    message = {1: [Fixed32(7)], 2: [300, 1], 3: [b"abc"], 4: [{1: [1.5]}], 5: ["text"]}
    raw = encode_message(message)
    fields = parse_message(raw)
    assert struct.unpack("<I", fields[1][0])[0] == 7 and fields[2] == [300, 1]
    assert fields[3] == [b"abc"] and fields[5] == [b"text"]
    assert struct.unpack("<f", parse_message(fields[4][0])[1][0])[0] == 1.5
