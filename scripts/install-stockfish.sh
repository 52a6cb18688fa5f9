#!/usr/bin/env bash
# Install Stockfish, which the chess plugin's engine tests (strength matches, the bootstrap's
# analysis) drive over UCI: Debian's package `stockfish` (/usr/games/stockfish).
#
# Idempotent: does nothing when a stockfish binary is found ($STOCKFISH, the PATH, /usr/games).
# As root it runs `apt-get update && apt-get install -y stockfish`; otherwise it prints the command
# to run and exits 0, and the engine tests then skip (or fail, when CONCEPTLAB_REQUIRE_STOCKFISH=1).
set -euo pipefail

for candidate in "${STOCKFISH:-}" "$(command -v stockfish || true)" /usr/games/stockfish /usr/bin/stockfish; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
        exit 0
    fi
done

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-stockfish: no Stockfish found and cannot install it here;" \
         "run 'sudo apt-get update && sudo apt-get install -y stockfish' to run the engine tests." >&2
    exit 0
fi

echo "install-stockfish: installing Debian's stockfish (apt-get) for the engine tests" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y stockfish
