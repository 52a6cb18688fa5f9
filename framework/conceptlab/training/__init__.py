"""Self-play training building blocks: games with search, a replay buffer, fitting, matches."""

from conceptlab.training.selfplay import (
    GameRecord,
    MatchScore,
    ReplayBuffer,
    play_game,
    play_games,
    play_match,
    train_on_buffer,
)

__all__ = [
    "GameRecord",
    "MatchScore",
    "ReplayBuffer",
    "play_game",
    "play_games",
    "play_match",
    "train_on_buffer",
]
