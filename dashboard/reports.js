// live-attune report view: lists stored sessions and shows each one's measures exactly as
// session.json holds them (computed in live_attune/core); it derives no metric itself.
"use strict";

function $(id) { return document.getElementById(id); }

const FORMAT = {
  pct: (x) => Math.round(100 * x) + " %",
  s1: (x) => x.toFixed(1) + " s",
  s2: (x) => x.toFixed(2) + " s",
  int: (x) => String(x),
  num1: (x) => x.toFixed(1),
  ratio: (x) => x.toFixed(2),
  wpm: (x) => Math.round(x) + " wpm",
  min: (x) => (x / 60).toFixed(1) + " min",
};

function fmt(kind, value) {
  return value === null || value === undefined ? "–" : FORMAT[kind](value);
}

function at(obj, key) {
  return key.split(".").reduce((v, k) => (v === null || v === undefined ? undefined : v[k]), obj);
}

function token() {
  const t = new URLSearchParams(location.search).get("token");
  return t ? "?token=" + encodeURIComponent(t) : "";
}

async function getJson(path) {
  const response = await fetch(path + token(), { cache: "no-store" });
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}

const ROWS = [
  ["Talk share", "metrics.talk_share", "pct"],
  ["Talk time", "metrics.talk_time_s", "min"],
  ["Longest turn", "metrics.longest_monologue_s", "s1"],
  ["Interruptions made", "metrics.interruptions_by", "int"],
  ["Interruptions per hour", "metrics.interruptions_per_hour_by", "num1"],
  ["Listening sounds (mm-hm)", "metrics.backchannels_by", "int"],
  ["Pace", "metrics.language.pace_wpm", "wpm"],
];

function cell(tag, text, key, kind) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (key) { el.dataset.key = key; el.dataset.fmt = kind; }
  return el;
}

function renderSummary(s) {
  const table = $("detail-summary");
  const head = document.createElement("tr");
  // "you" for the therapist, as on the live view; clients by role ("client 2")
  const who = (sp) => (sp === "therapist" ? "you" : sp.replace("_", " "));
  head.append(cell("th", ""), ...s.speakers.map((sp) => cell("th", who(sp))));
  const rows = ROWS.filter(([, key]) => at(s, key) !== undefined && at(s, key) !== null)
    .map(([label, key, kind]) => {
      const tr = document.createElement("tr");
      tr.append(cell("th", label), ...s.speakers.map((sp) =>
        cell("td", fmt(kind, at(s, key + "." + sp)), key + "." + sp, kind)));
      return tr;
    });
  table.replaceChildren(head, ...rows);
}

function item(parts) {
  const li = document.createElement("li");
  for (const [text, key, kind] of parts) {
    if (key) li.append(cell("span", fmt(kind, at(window.current, key)), key, kind));
    else li.append(document.createTextNode(text));
  }
  return li;
}

function renderOverall(s) {
  const items = [];
  if (s.metrics.balance) items.push(item([["Balance: " + s.metrics.balance]]));
  items.push(item([["Response latency median "], ["", "metrics.response_latency_s.median", "s2"],
                   [", "], ["", "metrics.response_latency_s.share_patient", "pct"],
                   [" waited ≥ 1.5 s"]]));
  items.push(item([["Long silences: "], ["", "metrics.long_silence_count", "int"]]));
  if (s.metrics.language) {
    items.push(item([["Reflections per question "],
                     ["", "metrics.language.miti.reflection_to_question", "ratio"],
                     [", open questions "], ["", "metrics.language.miti.open_question_share", "pct"]]));
  }
  $("detail-overall").replaceChildren(...items);
}

async function show(id) {
  const s = await getJson("/api/sessions/" + encodeURIComponent(id));
  window.current = s;
  $("detail-title").textContent = "Session " + s.session.started_at.replace("T", " ") +
    (s.session.label ? " · client " + s.session.label : "");
  $("detail-meta").textContent = fmt("min", s.duration_s) + " · " + s.mode + " mode · " +
    s.session.kind + " · " + s.session.state;
  $("detail-flags").replaceChildren(...(s.quality || []).map((f) => {
    const li = document.createElement("li");
    li.textContent = "⚑ " + f.message;
    return li;
  }));
  renderSummary(s);
  renderOverall(s);
  $("detail-report").href = "/api/sessions/" + encodeURIComponent(id) + "/report" + token();
  $("session-detail").hidden = false;
  document.querySelectorAll("#sessions li").forEach((li) =>
    li.classList.toggle("selected", li.dataset.id === id));
}

function renderList(sessions) {
  const filter = $("client-filter").value;
  const shown = sessions.filter((r) => !filter || r.label === filter);
  $("sessions").replaceChildren(...shown.slice().reverse().map((r) => {
    const li = document.createElement("li");
    li.dataset.id = r.id;
    li.dataset.state = r.state;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = r.started_at.replace("T", " ").slice(0, 16) +
      (r.label ? " · " + r.label : "") + " · " + fmt("min", r.duration_s) +
      (r.state === "complete" ? "" : " · " + r.state);
    button.disabled = !(r.state === "complete" || r.state === "recovered");
    button.addEventListener("click", () => show(r.id));
    li.append(button);
    return li;
  }));
  $("list-note").textContent = shown.length ? "" : "No stored sessions yet.";
}

async function main() {
  let listing;
  try {
    listing = await getJson("/api/sessions");
  } catch (e) {
    $("list-note").textContent = "The session store cannot be read.";
    return;
  }
  const labels = [...new Set(listing.sessions.map((r) => r.label).filter(Boolean))].sort();
  $("client-filter").append(...labels.map((l) => {
    const o = document.createElement("option");
    o.value = l; o.textContent = l;
    return o;
  }));
  $("client-filter").addEventListener("change", () => renderList(listing.sessions));
  renderList(listing.sessions);
}

window.liveAttuneReports = { show, fmt };
main();
