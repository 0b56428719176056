// live-attune past sessions: lists stored sessions and shows each one's measures exactly as
// session.json holds them (computed in live_attune/core); it derives no metric itself.
// Every flagged number opens its moments (issue 20): time, who, and the words around it —
// the same selection as the HTML report (live_attune/report/moments.py).
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
  clock: (x) => Math.floor(Math.trunc(x) / 60) + ":" + String(Math.trunc(x) % 60).padStart(2, "0"),
};
const RATE_MIN_S = 20 * 60;  // rates per hour only for longer sessions (report/html.py)
const CONTEXT_S = 3;  // words shown around a moment, each side (report/moments.py)
const CONTEXT_LINES = 3;
// one microphone: an interruption less sure than this says so (report/words.py UNSURE_BELOW)
const UNSURE_BELOW = 0.7;
const UNSURE = "unsure: with one microphone this may not have been an interruption; listen to it";
// core/quality.py NOT_COUNTED_STOPPED (tested equal)
const NOT_COUNTED_STOPPED = "not counted: the session stopped unexpectedly";
const PACE = [100, 165];  // comfortable words a minute (core/context.py PACE_COMFORT_WPM)
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const SETUPS = { channels: "one microphone per person",
                 "single-mic": "one microphone for everyone, voices told apart",
                 "activity-only": "one microphone, speech only" };

function fmt(kind, value) {
  return value === null || value === undefined ? "–" : FORMAT[kind](value);
}

function at(obj, key) {
  return key.split(".").reduce((v, k) => (v === null || v === undefined ? undefined : v[k]), obj);
}

// "you" for the therapist, as on the live view; clients by role ("client 2")
function who(sp) { return sp === "therapist" ? "you" : sp.replace("_", " "); }

// "Monday 12 January 2026, 09:30" from the store's local ISO time (no ISO on the page)
function dateWords(iso, short) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(iso || "");
  if (!m) return iso || "";
  const d = new Date(+m[1], +m[2] - 1, +m[3]);
  const time = m[4] ? (short ? " " : ", ") + m[4] + ":" + m[5] : "";
  if (short) return d.getDate() + " " + MONTHS[d.getMonth()].slice(0, 3) + " " + m[1] + time;
  return DAYS[d.getDay()] + " " + d.getDate() + " " + MONTHS[d.getMonth()] + " " + m[1] + time;
}

function token() {
  const t = new URLSearchParams(location.search).get("token");
  return t ? "?token=" + encodeURIComponent(t) : "";
}

async function getJson(path) {
  const response = await fetch(path + token(), { cache: "no-store" });
  if (!response.ok) throw new Error(response.status === 403 ? "no key" : path + ": " + response.status);
  return response.json();
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function num(s, key, kind) {
  const e = el("span", fmt(kind, at(s, key)), "value-text");
  e.dataset.key = key;
  e.dataset.fmt = kind;
  return e;
}

function person(sp) {
  const b = el("b", who(sp), "who who-" + sp);
  b.dataset.speaker = sp;
  return b;
}

// -- moments: which ones a number stands for ------------------------------------------------

function wordsNear(s, from, to) {
  const lines = (s.transcript || []).filter((x) => x.end_s >= from && x.start_s <= to);
  if (!lines.length) return [el("i", "no transcript")];
  return lines.slice(0, CONTEXT_LINES).map((x) => {
    const p = el("p", null, "said");
    p.append(person(x.speaker), ": " + x.text);
    return p;
  });
}

function interruptionMoments(s, by, successful) {
  return s.metrics.interruptions.map((i, k) => [i, k])
    .filter(([i]) => i.by === by && i.successful === successful)
    .map(([i, k]) => ({
      key: "metrics.interruptions." + k + ".at_s",
      what: [person(i.by), " came in while " + (i.of === "therapist" ? "you" : "the " + who(i.of)) +
             (i.of === "therapist" ? " were" : " was") + " speaking; " +
             (i.of === "therapist" ? "you" : "the " + who(i.of)) +
             (successful ? " stopped" : " went on"),
             ...(i.confidence != null && i.confidence < UNSURE_BELOW
               ? [" ", el("span", "(" + UNSURE + ")", "unsure")] : [])],
      words: wordsNear(s, i.at_s - CONTEXT_S, i.at_s + CONTEXT_S),
    }));
}

function longestTurn(s, sp) {
  let best = -1;
  s.turns.forEach((t, k) => {
    if (t.speaker === sp && (best < 0 || t.duration_s > s.turns[best].duration_s)) best = k;
  });
  if (best < 0) return [];
  const t = s.turns[best];
  const said = (s.transcript || []).filter((x) => x.speaker === sp && x.start_s >= t.start_s &&
                                                  x.start_s < t.end_s);
  const words = said.length ? [el("p", said.map((x) => x.text).join(" "), "said")]
    : [el("i", "no transcript")];
  return [{ key: "turns." + best + ".start_s", what: [person(sp), " spoke for ",
            num(s, "turns." + best + ".duration_s", "s1")], words }];
}

function silenceMoments(s) {
  return (s.metrics.long_silences || []).map((x, k) => ({
    key: "metrics.long_silences." + k + ".start_s",
    what: [num(s, "metrics.long_silences." + k + ".duration_s", "s1"), " of silence after ",
           person(x.before), ", before ", person(x.after)],
    words: wordsNear(s, x.start_s - 1, x.end_s + 1),
  }));
}

function lineMoments(s, behaviours) {
  return (s.transcript || []).map((x, k) => [x, k])
    .filter(([x]) => behaviours.includes(x.behaviour))
    .map(([x, k]) => ({
      key: "transcript." + k + ".start_s",
      what: [x.behaviour.replace("_", " ") + (x.reflection ? " (" + x.reflection + ")" : "")],
      words: [el("p", x.text, "said")],
    }));
}

function showMoments(title, moments) {
  const s = window.current;
  $("moment-title").textContent = title;
  $("moment-list").replaceChildren(...moments.map((m) => {
    const li = el("li", null, "moment");
    const head = el("p", null, "moment-head");
    head.append(num(s, m.key, "clock"), " · ", ...m.what);
    li.append(head, ...m.words);
    return li;
  }));
  $("moment").hidden = false;
  $("moment").scrollIntoView({ block: "nearest" });
}

// A number that opens its moments; a plain number where there are none.
function opener(s, key, kind, title, moments) {
  const n = num(s, key, kind);
  if (!moments.length) return n;
  const b = el("button", null, "evidence");
  b.type = "button";
  b.title = "show the moments";
  b.dataset.moment = key;
  b.append(n);
  b.addEventListener("click", () => showMoments(title, moments));
  return b;
}

// -- the summary -----------------------------------------------------------------------------

function row(label, cells, note, unreliable) {
  const tr = el("tr", null, unreliable ? "unreliable" : "");
  const th = el("th", label);
  // on a phone the range goes under the label (style.css hides the column)
  if (unreliable || note) th.append(el("span", unreliable || note, "ctx-inline"));
  tr.append(th);
  for (const c of cells) {
    const td = el("td");
    if (c.outside) { td.className = "outside"; td.append(el("span", "⚑ ", "flag")); }
    td.append(c.node);
    tr.append(td);
  }
  tr.append(el("td", unreliable || note || "", "ctx"));
  return tr;
}

function renderSummary(s) {
  const m = s.metrics;
  const sp = s.speakers;
  const word = (kind) => {
    const w = (s.reliability || {})[kind];
    return w && w !== "measured" ? w : "";
  };
  // a one-microphone session recovered after it stopped unexpectedly has no counts of
  // interruptions or mm-hm (core/quality.py: NOT_COUNTED_STOPPED): a dash, not nought
  const counted = (kind, cells) => word(kind) === NOT_COUNTED_STOPPED ?
    sp.map(() => ({ node: el("span", "–", "value-text") })) : cells;
  const plain = (key, kind) => sp.map((x) => ({ node: num(s, key + "." + x, kind) }));
  const head = el("tr");
  head.append(el("th", ""), ...sp.map((x) => el("th", who(x), "who-" + x)), el("th", "usual range", "ctx"));
  const oneClient = sp.filter((x) => x.startsWith("client")).length === 1;
  const rows = [
    row("Share of the talk", sp.map((x) => ({
      node: num(s, "metrics.talk_share." + x, "pct"),
      outside: oneClient && x === "client" && m.balance && m.balance !== "even" })),
    "even: client 40–60 %", word("talk_share")),
    row("Talk time", plain("metrics.talk_time_s", "min")),
    row("Longest turn", sp.map((x) => ({
      node: opener(s, "metrics.longest_monologue_s." + x, "s1", "Longest turn: " + who(x),
                   longestTurn(s, x)) }))),
    row("Came in while the other spoke, and the other stopped", counted("interruptions", sp.map((x) => ({
      node: opener(s, "metrics.successful_interruptions_by." + x, "int",
                   who(x) + " came in, and the other stopped", interruptionMoments(s, x, true)) }))),
    "", word("interruptions")),
    row("Came in while the other spoke, and the other went on", counted("interruptions", sp.map((x) => ({
      node: opener(s, "metrics.unsuccessful_interruptions_by." + x, "int",
                   who(x) + " came in, and the other went on", interruptionMoments(s, x, false)) }))),
    "", word("interruptions")),
  ];
  if (s.duration_s > RATE_MIN_S) {
    rows.push(row("Came in while the other spoke, per hour",
                  counted("interruptions", plain("metrics.interruptions_per_hour_by", "num1")), "",
                  word("interruptions")));
  }
  rows.push(row("Listening sounds (mm-hm)",
                counted("backchannels", plain("metrics.backchannels_by", "int")),
                "active listening, not interrupting", word("backchannels")));
  if (at(s, "metrics.language.pace_wpm")) {
    rows.push(row("Pace", sp.map((x) => {
      const v = at(s, "metrics.language.pace_wpm." + x);
      return { node: num(s, "metrics.language.pace_wpm." + x, "wpm"),
               outside: v !== undefined && v !== null && (v < PACE[0] || v > PACE[1]) };
    }), "comfortable 100–165 wpm"));
  }
  $("detail-summary").replaceChildren(head, ...rows);
  $("detail-rates").textContent = s.duration_s > RATE_MIN_S ? ""
    : "No rates per hour: the session is shorter than 20 minutes.";
}

function item(...parts) {
  const li = el("li");
  li.append(...parts);
  return li;
}

function renderOverall(s) {
  const m = s.metrics;
  const items = [];
  if (m.balance) items.push(item("Balance: " + m.balance));
  if (m.response_latency_s.count) {
    items.push(item("Room before answering: median ",
                    num(s, "metrics.response_latency_s.median", "s2"), "; ",
                    num(s, "metrics.response_latency_s.share_patient", "pct"),
                    " of your answers waited 1.5 s or more"));
  }
  items.push(item("Silences of 3 s or more: ",
                  opener(s, "metrics.long_silence_count", "int", "Long silences",
                         silenceMoments(s))));
  const miti = at(s, "metrics.language.miti");
  if (miti) {
    items.push(item("Questions: ", opener(s, "metrics.language.miti.questions", "int",
                                         "Your questions",
                                         lineMoments(s, ["open_question", "closed_question"])),
                    " (", num(s, "metrics.language.miti.open_question_share", "pct"), " open)"));
    items.push(item("Reflections: ", opener(s, "metrics.language.miti.reflections", "int",
                                           "Your reflections", lineMoments(s, ["reflection"])),
                    "; reflections per question ",
                    num(s, "metrics.language.miti.reflection_to_question", "ratio")));
  }
  $("detail-overall").replaceChildren(...items);
}

async function show(id) {
  const s = await getJson("/api/sessions/" + encodeURIComponent(id));
  window.current = s;
  $("detail-title").textContent = "Session " + dateWords(s.session.started_at) +
    (s.session.label ? " · client " + s.session.label : "");
  $("detail-meta").textContent = fmt("min", s.duration_s) + " · " + (SETUPS[s.mode] || s.mode) +
    " · " + (s.session.kind === "live" ? "recorded live" : "analysed from a file") +
    (s.session.state === "complete" ? "" : " · " + s.session.state);
  $("detail-flags").replaceChildren(...(s.quality || []).map((f) => el("li", "⚑ " + f.message)));
  $("moment").hidden = true;
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
    const button = el("button", dateWords(r.started_at, true) +
      (r.label ? " · " + r.label : "") + " · " + fmt("min", r.duration_s) +
      (r.state === "complete" ? "" : " · " + r.state));
    button.type = "button";
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
    $("list-note").textContent = String(e.message) === "no key"
      ? "This page needs its key: open the address live-attune printed."
      : "The session store cannot be read.";
    return;
  }
  const labels = [...new Set(listing.sessions.map((r) => r.label).filter(Boolean))].sort();
  $("client-filter").append(...labels.map((l) => {
    const o = document.createElement("option");
    o.value = l; o.textContent = l;
    return o;
  }));
  $("client-filter").addEventListener("change", () => renderList(listing.sessions));
  $("moment-close").addEventListener("click", () => { $("moment").hidden = true; });
  renderList(listing.sessions);
}

window.liveAttuneReports = { show, fmt, dateWords };
$("live-link").href = "index.html" + token();  // the live view needs the key too
main();
