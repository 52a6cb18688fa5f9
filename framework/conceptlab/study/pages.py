"""The study's pages: HTML, CSS and JavaScript, self-contained (no external scripts, fonts or CDNs).

The participant page states the side to move and the last move (from the
domain's ``player_name`` and ``last_action_name``), shows the domain's SVG board
drawn for the side to move, and one button per legal move named by the domain's
``action_name`` (the game's notation for players). Boards whose SVG marks squares as
``class="square ... <name>"`` (e.g. ``class="square light a1"``) are also
clickable: clicking squares one after another builds a prefix of
a move's text (``e2`` then ``e4`` selects ``e2e4``); when exactly one legal move
matches, it is selected, and several matches (promotions) are highlighted among
the buttons. A selected move is sent only when the participant presses "Submit
move". A domain with a client-side board (``board.js`` among its
``study_assets``, data from ``study_board``) gets it instead of the picture in
phases 1 and 3: the page imports it and hands it the legal moves and its
``select``. Phase 2 shows a legend of the arrow colours and steps through the
agent's line, one server-drawn board per ply (previous / next buttons, the
arrow keys, or a click on a move of the line). The end page shows the
participant's own phase-1 and phase-3 scores.
"""

from __future__ import annotations

__all__ = ["ADMIN_HTML", "ADMIN_JS", "PARTICIPANT_HTML", "PARTICIPANT_JS", "STYLE"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; }
.progress { color: #555; margin-bottom: .5rem; }
.layout { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.board { min-width: 12rem; }
.board > svg { max-width: min(90vw, 420px); height: auto; }
.board > svg * { pointer-events: none; }
.board > svg .square { pointer-events: all; cursor: pointer; }
.board > svg .square.picked { fill: #f2c744; }
.moves { display: flex; flex-wrap: wrap; gap: .3rem; max-width: 24rem; margin: .5rem 0; }
.moves button { font-family: monospace; min-width: 3.5rem; padding: .35rem .5rem; }
.moves button.candidate { outline: 2px dashed #b58900; }
.moves button.selected { background: #2a6fdb; color: white; }
button.primary { font-size: 1rem; padding: .5rem 1rem; margin-top: .5rem; }
.error { color: #b00020; min-height: 1.2rem; }
.turn { font-weight: 600; margin: .25rem 0 .75rem; }
.line { display: flex; flex-wrap: wrap; gap: .25rem; padding: 0; list-style: none; margin: .25rem 0; }
.line button { font-family: monospace; padding: .2rem .4rem; }
.line button.current { background: #2a6fdb; color: white; }
.stepper { display: flex; gap: .5rem; align-items: center; margin: .5rem 0; }
.legend { padding: 0; list-style: none; font-size: .9rem; }
.legend li { margin: .15rem 0; }
.swatch { display: inline-block; width: 1.6rem; height: .5rem; margin-right: .4rem; vertical-align: middle; }
.scores td, .scores th { text-align: left; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
code { word-break: break-all; }
"""

PARTICIPANT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Puzzle study</title><link rel="stylesheet" href="/static/study.css"></head>
<body>
<h1 id="title">Puzzle study</h1>
<div class="progress" id="progress"></div>
<p id="instructions"></p>
<p class="turn" id="turn" hidden><span id="to-move"></span><span id="last-move"></span></p>
<div class="layout">
  <div class="board" id="board"></div>
  <div id="panel">
    <div id="choose" hidden>
      <div>Your move: <strong id="selected">none</strong></div>
      <div class="moves" id="moves"></div>
      <button class="primary" id="submit" disabled>Submit move</button>
    </div>
    <div id="review" hidden>
      <p>Your move: <strong id="your-move"></strong></p>
      <p>The agent's move: <strong id="solution"></strong></p>
      <p>The agent's line (click a move, or step through it):</p>
      <ol class="line" id="line"></ol>
      <div class="stepper">
        <button type="button" id="prev">&larr; Previous</button>
        <span id="step"></span>
        <button type="button" id="next">Next &rarr;</button>
      </div>
      <p>Arrows on the board:</p>
      <ul class="legend" id="legend"></ul>
      <button class="primary" id="confirm">I have studied this position - next</button>
    </div>
    <div id="done" hidden>
      <p>All three phases are done. Thank you!</p>
      <p>Your score: positions where you played the agent's move.</p>
      <table class="scores" id="own-scores"></table>
      <p>Phase 1 was before you saw the agent's lines, phase 3 after, on new positions.</p>
    </div>
    <p class="error" id="error" role="alert"></p>
  </div>
</div>
<script src="/static/participant.js"></script>
</body></html>
"""

PARTICIPANT_JS = r"""
"use strict";
const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const api = "/api/p/" + encodeURIComponent(token);
const $ = (id) => document.getElementById(id);
const INSTRUCTIONS = {
  1: "Phase 1 of 3: find the best move in each position.",
  2: "Phase 2 of 3: study the agent's move and line in the positions you have just solved.",
  3: "Phase 3 of 3: find the best move in new positions.",
};
let current = null, selected = null, picked = [], busy = false, step = 0;
let boardHandle = null, renders = 0;

async function call(method, url, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function nameOf(text) {
  const move = current && current.moves ? current.moves.find((m) => m.text === text) : null;
  return move ? move.name : text;
}

function select(text) {
  selected = text;
  $("selected").textContent = text ? nameOf(text) : "none";
  $("submit").disabled = !text;
  for (const b of $("moves").children) b.classList.toggle("selected", b.dataset.move === text);
  if (boardHandle) boardHandle.show(text);
}

async function mountBoard(p, generation) {
  // the domain's client-side board (drag and drop, destinations, promotion); the server's picture stays
  // when it is absent or fails
  try {
    const adapter = await import("/static/domain/board.js");
    if (generation !== renders) return;
    boardHandle = adapter.mount($("board"), p.board, p.moves.map((m) => ({ text: m.text, name: m.name })), select);
    $("board").dataset.adapter = "mounted";
  } catch (e) {
    $("board").dataset.adapter = "failed";
    console.error("client-side board not available:", e);
  }
}

function squareName(el) {
  const names = [...el.classList].filter((c) => !["square", "light", "dark", "picked"].includes(c));
  return names.length ? names[names.length - 1] : null;
}

function pickSquare(el) {
  const name = squareName(el);
  if (!name || !current) return;
  const moves = current.moves.map((m) => m.text);
  const matching = (prefix) => moves.filter((t) => t.startsWith(prefix));
  picked.push(name);
  if (!matching(picked.join("")).length) picked = [name];
  if (!matching(picked.join("")).length) picked = [];
  const candidates = matching(picked.join(""));
  for (const sq of $("board").querySelectorAll(".square")) {
    sq.classList.toggle("picked", picked.includes(squareName(sq)));
  }
  for (const b of $("moves").children) {
    b.classList.toggle("candidate", picked.length > 0 && candidates.includes(b.dataset.move));
  }
  const exact = candidates.filter((t) => t === picked.join(""));
  if (candidates.length === 1 && picked.length > 1) select(candidates[0]);
  else if (exact.length === 1 && candidates.length === 1) select(exact[0]);
  else select(null);
}

function showStep(k) {
  const steps = current.steps;
  step = Math.max(0, Math.min(k, steps.length - 1));
  const s = steps[step];
  $("board").innerHTML = s.svg;
  const last = steps.length - 1;
  $("step").textContent = step === 0
    ? "Puzzle position (" + current.to_move + " to move)" + (last ? ", next: " + s.next : "")
    : "After " + s.played + " (step " + step + " of " + last + ")";
  $("prev").disabled = step === 0;
  $("next").disabled = step === last;
  const items = $("line").querySelectorAll("button");
  items.forEach((b, i) => b.classList.toggle("current", i + 1 === step));
}

function renderReview(p) {
  $("your-move").textContent = p.your_move_name || "-";
  $("solution").textContent = p.solution_name;
  const line = $("line");
  line.replaceChildren();
  p.line_names.forEach((name, i) => {
    const item = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = name;
    b.addEventListener("click", () => showStep(i + 1));
    item.appendChild(b);
    line.appendChild(item);
  });
  const legend = $("legend");
  legend.replaceChildren();
  for (const entry of p.legend) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = entry.colour;
    item.append(swatch, entry.colour + ": " + entry.meaning);
    legend.appendChild(item);
  }
  showStep(0);
  $("review").hidden = false;
}

function renderDone(scores) {
  const t = $("own-scores");
  t.replaceChildren();
  const rows = [["Phase 1", scores["1"]], ["Phase 3", scores["3"]]];
  for (const [label, s] of rows) {
    const tr = t.insertRow();
    tr.insertCell().textContent = label;
    tr.insertCell().textContent = s.solved + " of " + s.total;
  }
  $("done").hidden = false;
}

function render(state) {
  renders += 1;
  if (boardHandle) {
    boardHandle.destroy();
    boardHandle = null;
  }
  delete $("board").dataset.adapter;
  current = state.puzzle;
  selected = null;
  picked = [];
  $("error").textContent = "";
  for (const id of ["choose", "review", "done", "turn"]) $(id).hidden = true;
  if (state.finished) {
    $("progress").textContent = "Finished";
    $("instructions").textContent = "";
    $("board").innerHTML = "";
    $("board").hidden = true;
    renderDone(state.scores);
    return;
  }
  const p = current;
  $("progress").textContent = "Phase " + state.phase + " of 3 - position " + p.number + " of " + p.total;
  $("instructions").textContent = INSTRUCTIONS[state.phase];
  $("to-move").textContent = p.to_move + " to move.";
  $("last-move").textContent = p.last_move ? " Last move: " + p.last_move + "." : "";
  $("turn").hidden = false;
  $("board").hidden = false;
  $("board").innerHTML = p.svg;
  if (state.phase === 2) {
    renderReview(p);
    return;
  }
  const box = $("moves");
  box.replaceChildren();
  for (const m of p.moves) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = m.name;
    b.dataset.move = m.text;
    b.addEventListener("click", () => select(m.text));
    box.appendChild(b);
  }
  for (const sq of $("board").querySelectorAll(".square")) {
    sq.addEventListener("click", () => pickSquare(sq));
  }
  select(null);
  $("choose").hidden = false;
  if (p.board) mountBoard(p, renders);
}

async function act(request) {
  if (busy) return;
  busy = true;
  try {
    render((await request()).state);
  } catch (e) {
    $("error").textContent = e.message;
  } finally {
    busy = false;
  }
}

$("submit").addEventListener("click", () => act(() =>
  call("POST", api + "/answers", { puzzle_id: current.id, move: selected })));
$("confirm").addEventListener("click", () => act(() =>
  call("POST", api + "/reviews", { puzzle_id: current.id })));
$("prev").addEventListener("click", () => showStep(step - 1));
$("next").addEventListener("click", () => showStep(step + 1));
document.addEventListener("keydown", (event) => {
  if ($("review").hidden || !current || !current.steps) return;
  if (event.key === "ArrowLeft") showStep(step - 1);
  else if (event.key === "ArrowRight") showStep(step + 1);
});
act(async () => ({ state: await call("GET", api) }));
"""

ADMIN_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Study admin</title><link rel="stylesheet" href="/static/study.css"></head>
<body>
<h1>Study admin</h1>
<p id="about"></p>
<p><a id="scores-csv" href="#">Scores (CSV)</a> | <a id="answers-csv" href="#">Answers (CSV)</a></p>
<h2>Arms</h2>
<p>Gain = phase 3 rate - phase 1 rate, over participants who finished; control concepts failed a filter.
Intervals are Student-t intervals of the mean over finished participants (none with fewer than two).</p>
<table id="arms"></table>
<p id="difference"></p>
<h2>Concepts</h2>
<table id="concepts"></table>
<h2>Participants</h2>
<form id="add">
  <label>New links: <input id="count" type="number" min="1" max="1000" value="1"></label>
  <label>Label: <input id="label" maxlength="200"></label>
  <button type="submit">Create</button>
</form>
<p class="error" id="error" role="alert"></p>
<div id="new-links" hidden><p>New links (shown this once; the study keeps only their hashes):</p>
<ul id="new-link-list"></ul></div>
<table id="participants"></table>
<script src="/static/admin.js"></script>
</body></html>
"""

ADMIN_JS = r"""
"use strict";
const adminToken = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const pct = (v) => (v === null || v === undefined) ? "-" : (100 * v).toFixed(1) + "%";
const num = (v) => (v === null || v === undefined) ? "-" : (Math.round(v * 100) / 100).toString();
const score = (s) => s.solved + "/" + s.total + (s.answered < s.total ? " (" + s.answered + " answered)" : "");

async function call(method, url, body) {
  const options = { method, headers: { "X-Admin-Token": adminToken } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function table(id, header, rows) {
  const t = $(id);
  t.replaceChildren();
  const head = t.insertRow();
  for (const h of header) {
    const th = document.createElement("th");
    th.textContent = h;
    head.appendChild(th);
  }
  for (const row of rows) {
    const tr = t.insertRow();
    for (const cell of row) {
      const td = tr.insertCell();
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell;
    }
  }
}

function link(path) {
  const code = document.createElement("code");
  code.textContent = location.origin + path;
  return code;
}

async function load() {
  const data = await call("GET", "/api/admin/summary");
  $("about").textContent = "Domain " + data.domain + ": " + data.counts.participants + " participants, "
    + data.counts.answers + " answers, " + data.counts.reviews + " phase-2 confirmations.";
  const q = "?token=" + encodeURIComponent(adminToken);
  $("scores-csv").href = "/api/admin/scores.csv" + q;
  $("answers-csv").href = "/api/admin/answers.csv" + q;
  const level = Math.round(100 * data.confidence) + "% CI";
  const ci = (low, high) => (low === null || low === undefined) ? "-" : pct(low) + " to " + pct(high);
  table("arms", ["arm", "finished", "phase 1", "phase 3", "gain", "gain " + level, "gain (puzzles per concept)"],
    Object.entries(data.arms).map(([arm, a]) => [arm, a.finished, pct(a.mean_phase1), pct(a.mean_phase3),
      pct(a.mean_gain), ci(a.gain_ci_low, a.gain_ci_high), num(a.mean_gain_per_concept)]));
  const d = data.concepts_minus_control;
  $("difference").textContent = d === null ? "No control arm: the gain cannot be told apart from practice."
    : "Concepts gain minus control gain (paired, " + d.finished + " finished): " + pct(d.mean)
      + " (" + level + " " + ci(d.mean_ci_low, d.mean_ci_high) + ").";
  table("concepts", ["concept", "arm", "finished", "mean gain", "mean gain (puzzles)"],
    data.concepts.map((c) => [c.concept, c.control ? "control" : "concepts", c.finished,
      pct(c.mean_gain), num(c.mean_gain_puzzles)]));
  const arms = Object.keys(data.arms);
  const header = ["id", "label", "phase"];
  for (const arm of arms) header.push(arm + " phase 1", arm + " phase 3", arm + " gain");
  table("participants", header, data.participants.map((p) => {
    const row = [p.id, p.label, p.finished ? "done" : p.phase];
    for (const arm of arms) {
      const a = p.arms[arm];
      row.push(score(a.phase1), score(a.phase3), pct(a.gain));
    }
    return row;
  }));
}

$("add").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const made = await call("POST", "/api/admin/participants",
      { count: Number($("count").value), label: $("label").value });
    const list = $("new-link-list");
    for (const p of made.participants) {
      const item = document.createElement("li");
      item.append(p.id + (p.label ? " (" + p.label + ")" : "") + ": ", link(p.link));
      list.appendChild(item);
    }
    $("new-links").hidden = false;
    $("error").textContent = "";
    await load();
  } catch (e) {
    $("error").textContent = e.message;
  }
});
load().catch((e) => { $("error").textContent = e.message; });
"""
