"""Finding and starting Stockfish over UCI (python-chess ``chess.engine``), with clear errors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import chess.engine

from conceptlab.errors import ComponentError

__all__ = ["INSTALL_HINT", "StockfishNotFoundError", "find_stockfish", "open_stockfish"]

INSTALL_HINT = "install it (e.g. 'apt-get install stockfish', which puts it in /usr/games) or pass --stockfish PATH"
_FALLBACK_PATHS = ("/usr/games/stockfish", "/usr/local/bin/stockfish", "/opt/homebrew/bin/stockfish")


class StockfishNotFoundError(ComponentError):
    """No Stockfish binary where one was asked for or looked for."""


def find_stockfish(path: str | os.PathLike[str] | None = None) -> str:
    """The Stockfish executable: ``path`` if given, else ``$STOCKFISH``, ``PATH``, then usual places.

    Raises:
        StockfishNotFoundError: Nothing executable was found (the message says
            where it looked and how to install one).
    """
    if path is not None:
        found = shutil.which(str(path))
        if found is None:
            raise StockfishNotFoundError(f"stockfish binary not found at {str(path)!r}; {INSTALL_HINT}")
        return found
    candidates = [os.environ.get("STOCKFISH"), shutil.which("stockfish"), *_FALLBACK_PATHS]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise StockfishNotFoundError(
        f"stockfish binary not found (looked at $STOCKFISH, PATH and {', '.join(_FALLBACK_PATHS)}); {INSTALL_HINT}"
    )


def open_stockfish(
    path: str | os.PathLike[str] | None = None,
    *,
    threads: int = 1,
    hash_mb: int = 16,
    options: Mapping[str, str | int | bool] | None = None,
) -> chess.engine.SimpleEngine:
    """Start Stockfish and configure it; the caller closes it (``engine.quit()`` or ``with``).

    Raises:
        StockfishNotFoundError: See :func:`find_stockfish`.
        ComponentError: The binary does not start or does not speak UCI, or an
            option is refused (the message names the binary and the option).
    """
    binary = find_stockfish(path)
    try:
        engine = chess.engine.SimpleEngine.popen_uci(binary)
    except (OSError, chess.engine.EngineError, chess.engine.EngineTerminatedError) as exc:
        raise ComponentError(f"cannot start {binary!r} as a UCI engine: {exc}") from None
    settings: dict[str, str | int | bool] = {"Threads": threads, "Hash": hash_mb, **(options or {})}
    try:
        engine.configure({k: v for k, v in settings.items() if k in engine.options})
    except chess.engine.EngineError as exc:
        engine.quit()
        raise ComponentError(f"{binary!r} refused the options {settings}: {exc}") from None
    return engine
