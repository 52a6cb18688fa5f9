"""Agents shipped with the core (torch-backed ones need the ``torch`` extra)."""
