#!/usr/bin/env bash
# Install the human reference games of the chess demo: Debian's gnuchess-book, a
# Polyglot opening book built from master games (provenance in docs/chess.md).
#
# Idempotent: does nothing when the book is already there. As root it runs
# `apt-get install -y gnuchess-book` (after `apt-get update` when needed);
# otherwise it prints the command and exits 1, because the demo cannot run
# its novelty filter without a human reference.
#
# Environment: CONCEPTLAB_CHESS_BOOK overrides the book's path.
set -euo pipefail

book="${CONCEPTLAB_CHESS_BOOK:-/usr/share/games/gnuchess/book.bin}"

if [ -r "$book" ]; then
    exit 0
fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-demo-data: no opening book at $book; run" \
         "'sudo apt-get install -y gnuchess-book' (Debian/Ubuntu), then 'make demo' again." >&2
    exit 1
fi

echo "install-demo-data: installing Debian's gnuchess-book (the demo's human reference games)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y gnuchess-book || { apt-get update && apt-get install -y gnuchess-book; }

if [ ! -r "$book" ]; then
    echo "install-demo-data: apt-get installed gnuchess-book, but $book is still missing" >&2
    exit 1
fi
