"""The HTML report of a run: one self-contained page (no external scripts, styles or fonts).

It shows the spec, each stage's figures and timings, every candidate concept
with its filter numbers and reasons, and, for each exported concept, boards of
its source position and prototypes drawn by the domain.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from conceptlab.errors import RunDirError
from conceptlab.plugins import Registry
from conceptlab.rundir import atomic_write_bytes, read_json
from conceptlab.spec import STAGES, resolve_spec, spec_from_dict

__all__ = ["render_report", "write_report"]

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;
color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f3f3f3}
.pass{color:#176f2c;font-weight:600}.fail{color:#a12020}.boards{display:flex;flex-wrap:wrap;gap:1rem}
.board{max-width:260px}.board svg{width:100%;height:auto}pre{background:#f7f7f7;padding:.75rem;
overflow-x:auto;font-size:.8rem}code{font-size:.85rem}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _read(path: Path, default: Any) -> Any:
    return read_json(path) if path.exists() else default


def _stage_table(manifest: dict[str, Any]) -> str:
    rows = ["<tr><th>stage</th><th>status</th><th>seconds</th><th>units</th><th>figures</th></tr>"]
    for stage in STAGES:
        rec = manifest["stages"].get(stage, {})
        figures = json.dumps(rec.get("figures", {}), sort_keys=True)
        rows.append(
            f"<tr><td>{stage}</td><td>{_e(rec.get('status', 'pending'))}</td>"
            f"<td>{_e(rec.get('seconds', ''))}</td><td>{_e(rec.get('units', ''))}</td>"
            f"<td><code>{_e(figures)}</code></td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _verdict_cell(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return "<td>-</td>"
    cls, word = ("pass", "passed") if verdict["passed"] else ("fail", "failed")
    return f'<td><span class="{cls}">{word}</span>: {_e(verdict["reason"])}</td>'


def _concept_table(run: Path) -> str:
    index = _read(run / "mine" / "concepts.json", [])
    if not index:
        return "<p>No candidate concepts were mined.</p>"
    teach = {v["concept_id"]: v for v in _read(run / "teach" / "summary.json", [])}
    novelty = {v["concept_id"]: v for v in _read(run / "novelty" / "summary.json", [])}
    rows = ["<tr><th>concept</th><th>miner status</th><th>metrics</th><th>teachability</th>"
            "<th>novelty</th></tr>"]
    for rec in index:
        metrics = ", ".join(f"{k}={v:.3g}" for k, v in sorted(rec.get("metrics", {}).items()))
        status = _e(rec["status"]) + (f"<br><small>{_e(rec['reason'])}</small>" if rec.get("reason") else "")
        rows.append(
            f"<tr><td><code>{_e(rec['id'])}</code></td><td>{status}</td><td>{_e(metrics)}</td>"
            f"{_verdict_cell(teach.get(rec['id']))}{_verdict_cell(novelty.get(rec['id']))}</tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _cards(run: Path, domain: Any) -> str:
    cards = sorted((run / "export" / "cards").glob("*.json"))
    if not cards:
        return "<p>No concept passed both filters, so none was exported. Every candidate's numbers are in the table above.</p>"
    parts = []
    for path in cards:
        card = read_json(path)
        boards = []
        source = domain.from_text(card["provenance"]["position"])
        boards.append(f'<div class="board">{domain.render_svg(source)}<br>source position; '
                      f'agent line: {_e(" ".join(card["agent_lines"]["chosen"]))}</div>')
        for text in card["prototypes"][:4]:
            boards.append(f'<div class="board">{domain.render_svg(domain.from_text(text))}<br>prototype</div>')
        label = " (control)" if card["control"] else ""
        parts.append(f"<h3><code>{_e(card['id'])}</code>{label}</h3>"
                     f'<div class="boards">{"".join(boards)}</div>')
    return "".join(parts)


def render_report(run: Path, registry: Registry) -> str:
    """The report page of run directory ``run``, as HTML text."""
    if not (run / "manifest.json").exists():
        raise RunDirError(f"{str(run)!r} is not a conceptlab run directory (no manifest.json)")
    manifest = read_json(run / "manifest.json")
    spec = spec_from_dict(read_json(run / "spec.json"), source=str(run / "spec.json"))
    resolved = resolve_spec(spec, registry)
    domain = resolved.classes["domain"](resolved.params["domain"])
    title = f"conceptlab run {spec.name}"
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(spec.description)}</p>" if spec.description else "",
        f"<p>seed {spec.seed}; spec hash <code>{manifest['spec_hash'][:12]}</code>; "
        f"created {_e(manifest['created'])}</p>",
        "<h2>Stages</h2>", _stage_table(manifest),
        "<h2>Candidate concepts</h2>", _concept_table(run),
        "<h2>Exported concepts</h2>", _cards(run, domain),
        "<h2>Spec</h2>", f"<pre>{_e(json.dumps(spec.model_dump(mode='json'), indent=2))}</pre>",
        "<h2>Versions</h2>", f"<pre>{_e(json.dumps(manifest['versions'], indent=2))}</pre>",
    ]
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(run: Path, out: Path | None, registry: Registry) -> Path:
    """Write the report of ``run`` to ``out`` (default ``run/report.html``); return the path."""
    out = out or run / "report.html"
    atomic_write_bytes(out, render_report(run, registry).encode())
    return out
