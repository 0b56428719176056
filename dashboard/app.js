// live-attune dashboard: shows what the server computed (live_attune/core); it derives no
// metric itself. Wire format: live_attune/server/messages.py (version 1).
"use strict";

const VERSION = 1;
// The planned session length per modality (the therapist's own plan, remembered in this
// browser). Every threshold the page shows or cues on comes from core in the snapshot
// (session.thresholds: live_attune/core/context.py), never from here.
const MODALITIES = {
  "person-centred": { plannedMin: 50 },
  "cbt": { plannedMin: 50 },
  "mi": { plannedMin: 50 },
};
const BALANCE_TEXT = { "client-led": "the client is leading", "even": "even",
                       "therapist-heavy": "you are doing most of the talking" };
// The glance shows at most this many of the indicators below (issue 19: a one-second look).
const GLANCE_MAX = 3;
const GLANCE_ITEMS = ["balance", "monologue", "latency", "interruptions", "clock"];
const GLANCE_DEFAULT = ["balance", "monologue", "latency"];
// What the transcript marks in the therapist's utterances (core/language.py behaviours).
const BEHAVIOUR_TEXT = { open_question: "open question", closed_question: "closed question",
                         reflection: "reflection" };
const CONN_TEXT = { connecting: "connecting…", open: "connected", reconnecting: "reconnecting…",
                    ended: "session over",
                    nokey: "no key: open the address live-attune printed" };

const state = { metrics: null, status: null, session: null, events: [], transcript: [],
                ended: false, received: 0, errors: [] };
const settings = loadSettings();

function $(id) { return document.getElementById(id); }

function loadSettings() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem("live-attune.settings") || "{}"); } catch (e) { saved = {}; }
  const modality = MODALITIES[saved.modality] ? saved.modality : "person-centred";
  const merged = Object.assign({ modality, glance: true, glanceItems: GLANCE_DEFAULT.slice(),
                                 showFloor: false, showTranscript: false },
                               MODALITIES[modality], saved);
  const items = Array.isArray(merged.glanceItems) ? merged.glanceItems : [];
  merged.glanceItems = items.filter((w) => GLANCE_ITEMS.includes(w)).slice(0, GLANCE_MAX);
  delete merged.glanceWhat;  // the single-indicator setting of earlier versions
  return merged;
}

function saveSettings() {
  localStorage.setItem("live-attune.settings", JSON.stringify(settings));
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
}

function thresholds() {
  return (state.session && state.session.thresholds) || null;
}

// The monologue cue for the chosen modality: the therapist's own override, else core's.
function cueS() {
  const th = thresholds();
  const fromCore = th && th.monologue_cue_s ? th.monologue_cue_s[settings.modality] : null;
  return settings.cueOverrideS || fromCore || null;
}

function windowText() {
  const th = thresholds();
  return th ? "last " + Math.round(th.window_s / 60) + " min" : "recent";
}

// Who a role is, in the page's words: the therapist is "you" everywhere.
function who(role) { return role === "therapist" ? "you" : String(role).replace("_", " "); }

function pct(x) { return x === null || x === undefined ? "—" : Math.round(100 * x) + "%"; }

// The definitions in the tooltips quote core's thresholds: each [data-def] holds a template
// whose {name} is a key of session.thresholds (…_s seconds, …_share a percentage, …_wpm a
// range, else a number); until the snapshot comes they read "…".
function thresholdText(name, value) {
  if (Array.isArray(value)) return value.map((v) => thresholdText("", v)).join("–");
  if (name.endsWith("_share")) return Math.round(100 * value) + " %";
  const n = Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  return name.endsWith("_s") ? n + " s" : n;
}

function fillDefinitions() {
  const th = thresholds();
  for (const el of document.querySelectorAll("[data-def]")) {
    el.title = el.dataset.def.replace(/\{(\w+)\}/g, (all, name) =>
      th && th[name] !== undefined ? thresholdText(name, th[name]) : "…");
  }
}

// -- message handling: dispatch on type, refuse the unknown ------------------------------
const HANDLERS = {
  snapshot(msg) {
    state.session = msg.session;
    state.metrics = msg.metrics;
    state.status = msg.status;
    state.events = (msg.recent && msg.recent.events) || [];
    state.transcript = state.events.filter((e) => e.type === "transcript");
    state.voice = state.events.filter((e) => e.type === "prosody" && e.speaker === "therapist").pop() || null;
    // A page opened (or reloaded) after the end still says so, and where it was kept.
    const ended = msg.session && msg.session.ended;
    state.ended = Boolean(ended);
    state.savedTo = ended ? ended.saved_to : null;
    state.savedWhere = ended ? ended.saved_where || null : null;
    state.storedAs = ended ? ended.session_id : null;
    fillDefinitions();
  },
  metrics(msg) { state.metrics = msg; },
  status(msg) { state.status = msg; },
  floor(msg) { pushEvent(msg); },
  turn(msg) { /* turns are for the report */ },
  interruption(msg) { pushEvent(msg); },
  backchannel(msg) { pushEvent(msg); },
  long_silence(msg) { pushEvent(msg); },
  transcript(msg) { state.transcript.push(msg); pushEvent(msg); },
  prosody(msg) { if (msg.speaker === "therapist") state.voice = msg; },
  end(msg) {
    state.ended = true;
    // the finished session's reliability: one microphone's counts are now the revision's
    if (msg.reliability && state.session) state.session.reliability = msg.reliability;
    state.savedTo = msg.saved_to;
    state.savedWhere = msg.saved_where || null;
    const store = state.status && state.status.store;
    state.storedAs = store && !store.error ? store.session_id : null;
  },
  error(msg) { state.errors.push(msg.message); },
  pong(msg) {},
};

function pushEvent(msg) {
  state.events.push(msg);
  if (state.events.length > 200) state.events.shift();
}

function handle(msg) {
  if (typeof msg !== "object" || msg === null) throw new Error("message is not an object");
  if (msg.v !== VERSION) throw new Error("unsupported message version " + msg.v);
  const handler = HANDLERS[msg.type];
  if (!handler) throw new Error("unknown message type " + msg.type);
  handler(msg);
  state.received += 1;
  render();
}

// -- rendering ---------------------------------------------------------------------------
function render() {
  renderHeader();
  renderBalance();
  renderMonologue();
  renderLatency();
  renderCounts();
  renderReliability();
  renderSilences();
  renderLanguage();
  renderVoice();
  renderGlance();
  renderTranscript();
  renderStatus();
}

// The ratio and difference come from core (live_attune/core/prosody.py: cue); only shown.
function renderVoice() {
  const v = state.voice;
  const rate = v && v.rate_ratio !== null && v.rate_ratio !== undefined ? v.rate_ratio : null;
  const loud = v && v.loudness_delta_db !== null && v.loudness_delta_db !== undefined ? v.loudness_delta_db : null;
  $("voice-rate").textContent = rate === null ? "—" : v.rate_label === "as usual" ? "as usual" :
    Math.round(100 * Math.abs(rate - 1)) + "% " + v.rate_label;
  $("voice-loud").textContent = loud === null ? "—" : v.loudness_label === "as usual" ? "as usual" :
    Math.abs(loud).toFixed(0) + " dB " + v.loudness_label;
  $("voice-note").textContent = v && rate === null ? "learning your usual voice (first minute)" : "against your first minute of speech";
}

function renderHeader() {
  const m = state.metrics;
  const elapsed = m ? m.at_s : 0;
  $("elapsed").textContent = clock(elapsed);
  $("planned").textContent = clock(settings.plannedMin * 60);
  const left = settings.plannedMin * 60 - elapsed;
  $("clock").classList.toggle("near-end", left <= 300);
  // Whose turn it is changes often: shown only when the therapist asks for it, and at the end.
  const floor = $("floor");
  const holder = m && m.floor;
  floor.dataset.speaker = state.ended ? "" : holder || "";
  floor.textContent = state.ended ? "session ended" :
    holder === "therapist" ? "your turn" : holder ? who(holder) + "'s turn" : "—";
  floor.hidden = !(settings.showFloor || state.ended);
  if (state.ended) setConn("ended");
  const ended = $("ended");
  ended.hidden = !state.ended;
  ended.textContent = state.ended ? "The session has ended. " + savedText() : "";
}

// Where the ended session was kept, in words. A --lan page is not told the path (the
// snapshot says where in words: messages.py, SAVED_WHERE_LAN), nor shown one.
function savedText() {
  const kept = state.savedTo || state.storedAs || state.savedWhere;
  if (!kept) return "It was not saved (started with --no-store).";
  if (state.savedWhere || (state.session && state.session.words === false)) {
    return "Saved on " + (state.savedWhere || "the therapist's computer") + ".";
  }
  const inStore = state.storedAs ? "It is in past sessions." : "";
  return state.savedTo ? "Saved to " + state.savedTo + ". " + inStore : inStore;
}

function setBar(id, shares, client) {
  const bar = $(id);
  const t = shares && shares.therapist !== null && shares.therapist !== undefined ? shares.therapist : 0;
  const c = client || 0;
  bar.querySelector(".t").style.width = (100 * t) + "%";
  bar.querySelector(".c").style.width = (100 * c) + "%";
}

function renderBalance() {
  const m = state.metrics;
  const session = m && m.talk_share, rolling = m && m.rolling_talk_share;
  setBar("bar-session", session, m && m.client_share);
  setBar("bar-rolling", rolling, m && m.rolling_client_share);
  $("session-text").textContent = m ? "client " + pct(m.client_share) : "—";
  $("rolling-text").textContent = m ? "client " + pct(m.rolling_client_share) : "—";
  const label = m && m.rolling_balance;
  $("rolling-label").textContent = windowText();
  $("balance-label").textContent = label ? windowText() + ": " + BALANCE_TEXT[label] : "";
}

function renderMonologue() {
  const m = state.metrics;
  const s = m ? m.therapist_monologue_s : 0;
  $("monologue").textContent = clock(s);
  const cue = cueS() !== null && s >= cueS();
  $("monologue-card").classList.toggle("cue", cue);
  $("monologue-note").textContent = cue ? "a long turn — room for the client?" :
    m && m.longest_monologue_s ? "longest so far " + clock(m.longest_monologue_s.therapist) : "";
}

// The room before answering in words: a negative gap (METRICS.md: switch gap) means the
// therapist started before the client finished, which is said, not shown as "−1.1 s". The
// median shows once core's minimum number of answers is in (session.thresholds).
function latencyText() {
  const lat = state.metrics && state.metrics.response_latency;
  const th = thresholds();
  const need = th && th.latency_min_answers ? th.latency_min_answers : 1;
  const count = lat && lat.count !== undefined ? lat.count : (lat && lat.recent_s ? lat.recent_s.length : 0);
  if (!lat || lat.median_s === null || lat.median_s === undefined || count < need) {
    return { value: "—", words: false,
             note: "shown after " + need + " answer" + (need === 1 ? "" : "s") +
                   (count ? " (" + count + " so far)" : "") };
  }
  if (lat.median_s < 0) {
    return { value: "you start early", words: true,
             note: "you often started before they finished" };
  }
  return { value: lat.median_s.toFixed(1) + " s", words: false,
           note: "after they finish, typically" };
}

function dotTitle(g) {
  return g < 0 ? "you started " + (-g).toFixed(1) + " s before they finished" :
    "you waited " + g.toFixed(1) + " s";
}

function renderLatency() {
  const lat = state.metrics && state.metrics.response_latency;
  const th = thresholds();
  const text = latencyText();
  $("latency").textContent = text.value;
  $("latency").classList.toggle("words", text.words);
  const dots = $("latency-recent");
  dots.replaceChildren(...((lat && lat.recent_s) || []).map((g) => {
    const d = document.createElement("span");
    d.title = dotTitle(g);
    if (th && g >= th.patient_wait_s) d.className = "patient";
    else if (g < 0) d.className = "early";
    return d;
  }));
  $("latency-note").textContent = lat && lat.share_patient !== null && th && text.value !== "—" &&
    !text.words ?
    pct(lat.share_patient) + " of answers waited " + th.patient_wait_s.toFixed(1) +
    " s or more" : text.note;
}

// One row per role core counts for (therapist, client, and client_2 ... in couple and
// family sessions); the first two rows are in the page, the others are added here.
function countRow(card, id, label) {
  let num = $(id);
  if (!num) {
    const row = document.createElement("div");
    row.className = "pair";
    const name = document.createElement("span");
    name.textContent = label;
    num = document.createElement("span");
    num.className = "num";
    num.id = id;
    row.append(name, num);
    $(card).querySelector("p.reliability").before(row);
  }
  return num;
}

// While a one-microphone session runs, its interruptions and backchannels are recounted
// every half minute from the voices so far (core/quality.py: reliability), up to the time
// the metrics give (counted_to_s; 0 before the first recount: a dash, never a nought).
const RECOUNTED_LIVE = "recounted every half minute, not reliable on one microphone";

function recounted(kind) {
  const r = (state.session && state.session.reliability) || {};
  return r[kind] === RECOUNTED_LIVE;
}

function countedTo() {
  const m = state.metrics;
  return m && m.counted_to_s ? m.counted_to_s : 0;
}

// null: the finished session's counts (its last metrics come just before its end)
function notCountedYet(kind) {
  const m = state.metrics;
  return recounted(kind) && !(m && (m.counted_to_s === null || m.counted_to_s > 0));
}

function renderCounts() {
  const m = state.metrics;
  const get = (obj, k) => (obj && obj[k] !== undefined ? obj[k] : 0);
  const roles = (state.session && state.session.speakers) || ["therapist", "client"];
  const intLater = notCountedYet("interruptions");
  const bcLater = notCountedYet("backchannels");
  for (const role of roles) {
    countRow("interruptions-card", "int-" + role, "by " + who(role)).textContent =
      intLater ? "—" : get(m && m.interruptions_by, role);
    countRow("backchannels-card", "bc-" + role, who(role)).textContent =
      bcLater ? "—" : get(m && m.backchannels_by, role);
  }
}

// One microphone: core marks interruptions and backchannels "not reliable on one
// microphone" and the talk share "estimated" (live_attune/core/quality.py: reliability);
// the cards are dimmed and say so in core's words.
function renderReliability() {
  const r = (state.session && state.session.reliability) || {};
  const mark = (card, note, word, text) => {
    const shaky = word !== undefined && word !== "measured";
    $(card).classList.toggle("unreliable", shaky);
    $(note).hidden = !shaky;
    $(note).textContent = shaky ? text(word) : "";
  };
  const counts = (w) => w !== RECOUNTED_LIVE ? "Counts " + w + "." :
    (countedTo() > 0 ? "Counted up to " + clock(countedTo()) + ", updated every half minute." :
      "First count after half a minute of talk.") + " Not reliable with one microphone.";
  mark("interruptions-card", "int-reliability", r.interruptions, counts);
  mark("backchannels-card", "bc-reliability", r.backchannels, counts);
  mark("balance-card", "balance-reliability", r.talk_share,
       (w) => "Talk share " + w + ": voices told apart on one microphone.");
}

function renderSilences() {
  const m = state.metrics;
  $("silences").textContent = m ? m.long_silences : 0;
  const last = state.events.filter((e) => e.type === "long_silence").pop();
  $("silence-note").textContent = last ?
    "last " + last.duration_s.toFixed(0) + " s, at " + clock(last.start_s) : "";
}

function renderLanguage() {
  const lang = state.metrics && state.metrics.language;
  $("rq").textContent = lang && lang.reflection_to_question !== null && lang.reflection_to_question !== undefined ?
    lang.reflection_to_question.toFixed(1) : "—";
  $("open-q").textContent = lang ? pct(lang.open_question_share) : "—";
  // In MI the MITI numbers as the annotators would likely code them, with core's 80 %
  // interval from the classifier's own errors (session.json metrics.language.miti_intervals).
  const iv = settings.modality === "mi" && lang ? lang.miti_intervals : null;
  if (iv) {
    showRange("rq", iv.reflection_to_question, (v) => v.toFixed(1));
    showRange("open-q", iv.open_question_share, pct);
  }
  $("complex-pair").hidden = !iv;
  showRange("complex-r", iv ? iv.complex_reflection_share : null, pct);
  $("pace").textContent = lang && lang.therapist_wpm ? Math.round(lang.therapist_wpm) + " wpm" : "—";
  $("language-note").textContent = lang ? "" : "needs the transcript";
}

// "1.4 (1.1–1.8)": the estimate large, its interval small beside it, on one line.
function showRange(id, x, format) {
  const el = $(id);
  el.textContent = x ? format(x.estimate) : "—";
  if (!x) return;
  const range = document.createElement("small");
  range.textContent = " (" + format(x.low) + "–" + format(x.high) + ")";
  range.style.fontSize = "0.45em";
  el.style.whiteSpace = "nowrap";
  el.appendChild(range);
}

// Glance: the few indicators the therapist chose (settings), large; everything else is one
// tap away ("all measures").
function renderGlance() {
  $("full").hidden = settings.glance;
  $("glance").hidden = !settings.glance;
  $("glance-toggle").textContent = settings.glance ? "all measures" : "glance";
  const shown = settings.glanceItems;
  for (const item of document.querySelectorAll(".glance-item")) {
    item.hidden = !shown.includes(item.dataset.what);
    item.style.order = String(shown.indexOf(item.dataset.what));
  }
  $("glance").dataset.count = String(shown.length);
  const m = state.metrics;
  // talk balance of the recent window
  $("glance-label").textContent = "client's share of talk, " + windowText();
  $("glance-value").textContent = pct(m && m.rolling_client_share);
  $("glance-value").classList.toggle("cue", m ? m.rolling_balance === "therapist-heavy" : false);
  $("glance-balance-note").textContent = m && m.rolling_balance ? BALANCE_TEXT[m.rolling_balance] : "\u00a0";
  // the current turn, with the gentle cue
  const turn = m ? m.therapist_monologue_s : 0;
  const cue = cueS() !== null && turn >= cueS();
  $("glance-monologue").textContent = clock(turn);
  $("glance-monologue").classList.toggle("cue", cue);
  $("glance-monologue").closest(".glance-item").classList.toggle("cue", cue);
  $("glance-monologue-note").textContent = cue ? "a long turn — room for the client?" :
    turn > 0 ? "you are speaking" : "\u00a0";
  // room before answering
  const lat = latencyText();
  $("glance-latency").textContent = lat.value;
  $("glance-latency").classList.toggle("words", lat.words);
  $("glance-latency-note").textContent = lat.note;
  const by = (m && m.interruptions_by) || {};
  const others = Object.keys(by).filter((r) => r !== "therapist").reduce((a, r) => a + by[r], 0);
  const intLater = notCountedYet("interruptions");
  $("glance-interruptions").textContent = intLater ? "—" : (by.therapist || 0) + " · " + others;
  $("glance-interruptions-note").textContent = intLater ? "first count after half a minute" :
    recounted("interruptions") && countedTo() > 0 ? "counted up to " + clock(countedTo()) :
    "\u00a0";
  $("glance-clock").textContent = clock(m ? m.at_s : 0);
  $("glance-clock-note").textContent = "of " + clock(settings.plannedMin * 60) + " planned";
}

// The transcript follows the newest line (unless the reader scrolled up to read back),
// is part of the full view only, and marks the therapist's questions and reflections.
function transcriptLine(t) {
  const li = document.createElement("li");
  li.dataset.speaker = t.speaker;
  const name = document.createElement("span");
  name.className = "who";
  name.textContent = who(t.speaker);
  li.append(name);
  const mark = t.speaker === "therapist" && BEHAVIOUR_TEXT[t.behaviour];
  if (mark) {
    const tag = document.createElement("span");
    tag.className = "behaviour " + t.behaviour;
    tag.textContent = mark;
    li.append(tag);
  }
  li.append(document.createTextNode(t.text));
  return li;
}

function renderTranscript() {
  const panel = $("transcript");
  panel.hidden = !settings.showTranscript || settings.glance;
  // The server says when it sends no words (--lan: plain HTTP on a shared network).
  $("transcript-withheld").hidden = !(state.session && state.session.words === false);
  if (panel.hidden) return;
  const atEnd = panel.scrollHeight - panel.scrollTop - panel.clientHeight < 40;
  const shown = state.transcript.slice(-60);
  const list = $("transcript-lines");
  if (list.childElementCount === shown.length && list.dataset.last === String(state.transcript.length)) return;
  list.replaceChildren(...shown.map(transcriptLine));
  list.dataset.last = String(state.transcript.length);
  if (atEnd || !panel.dataset.scrolled) { panel.scrollTop = panel.scrollHeight; panel.dataset.scrolled = "1"; }
}

function renderStatus() {
  const st = state.status;
  const levels = $("levels");
  if (!st) {
    levels.replaceChildren();
    $("status-text").textContent = "";
    return;
  }
  levels.replaceChildren(...Object.entries(st.levels_db).map(([role, db]) => {
    const wrap = document.createElement("span");
    const bar = document.createElement("span");
    bar.className = "level" + (st.clipping[role] ? " clip" : "");
    const fill = document.createElement("i");
    fill.style.width = Math.max(0, Math.min(100, (db + 70) / 70 * 100)) + "%";
    bar.append(fill);
    wrap.title = "input level" + (st.clipping[role] ? " (too loud: clipping)" : "");
    wrap.append(document.createTextNode(who(role)), bar);
    return wrap;
  }));
  const parts = [st.device];
  if (st.overflows || st.driver_overflows) parts.push("dropped audio blocks: " + (st.overflows + st.driver_overflows));
  if (Object.values(st.clipping).some(Boolean)) parts.push("input clipping");
  if (st.state === "lost") parts.push("microphone lost");
  for (const w of st.warnings || []) parts.push("⚑ " + w);
  if (st.store && st.store.error) parts.push("NOT SAVING — " + st.store.error + " (measuring goes on)");
  $("status-text").textContent = parts.join(" · ");
}

// -- connection --------------------------------------------------------------------------
let socket = null, retryMs = 1000;
const PARAMS = new URLSearchParams(location.search);
const KEY = PARAMS.get("token");  // from the address live-attune printed; the server needs it

function wsUrl() {
  return "ws://" + location.host + "/ws" + (KEY ? "?token=" + encodeURIComponent(KEY) : "");
}

function setConn(s) { const c = $("conn"); c.dataset.state = s; c.textContent = CONN_TEXT[s] || s; }

function connect() {
  setConn("connecting");
  socket = new WebSocket(wsUrl());
  socket.onopen = () => { retryMs = 1000; setConn("open"); };
  socket.onmessage = (ev) => {
    try { handle(JSON.parse(ev.data)); } catch (e) { state.errors.push(String(e)); console.error(e); }
  };
  socket.onclose = () => {
    setConn(state.ended ? "ended" : "reconnecting");
    if (!state.ended) setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  };
}

// -- settings ----------------------------------------------------------------------------
// The dialog edits a copy: "done" saves it once the form is valid (the browser checks the
// inputs' ranges); Escape or "cancel" leaves the settings as they were.
function coreCueS(modality) {
  const th = thresholds();
  return th && th.monologue_cue_s ? th.monologue_cue_s[modality] || null : null;
}

function glanceBoxes() { return [...$("glance-what").querySelectorAll("input[type=checkbox]")]; }

function checkGlanceChoice() {
  const boxes = glanceBoxes(), chosen = boxes.filter((b) => b.checked).length;
  for (const b of boxes) b.disabled = !b.checked && chosen >= GLANCE_MAX;
  boxes[0].setCustomValidity(chosen ? "" : "choose at least one indicator for the glance");
  $("glance-what-note").textContent = chosen >= GLANCE_MAX ? "three chosen: untick one to change" :
    chosen ? "" : "choose at least one";
}

function openSettings() {
  const dlg = $("settings");
  dlg.returnValue = "";
  $("modality").value = settings.modality;
  $("planned-min").value = settings.plannedMin;
  $("cue-s").value = cueS() || "";
  for (const b of glanceBoxes()) b.checked = settings.glanceItems.includes(b.value);
  checkGlanceChoice();
  $("show-floor").checked = settings.showFloor;
  $("show-transcript").checked = settings.showTranscript;
  dlg.showModal();
}

function saveFromDialog() {
  const modality = $("modality").value;
  settings.modality = MODALITIES[modality] ? modality : settings.modality;
  settings.plannedMin = Number($("planned-min").value);
  const cue = Number($("cue-s").value);
  settings.cueOverrideS = cue && cue !== coreCueS(settings.modality) ? cue : null;
  settings.glanceItems = glanceBoxes().filter((b) => b.checked).map((b) => b.value);
  settings.showFloor = $("show-floor").checked;
  settings.showTranscript = $("show-transcript").checked;
  saveSettings();
}

function bindSettings() {
  const dlg = $("settings");
  $("settings-toggle").onclick = openSettings;
  $("modality").onchange = (e) => { $("cue-s").value = coreCueS(e.target.value) || ""; };
  $("glance-what").onchange = checkGlanceChoice;
  $("settings-cancel").onclick = () => dlg.close("");
  dlg.addEventListener("close", () => {
    if (dlg.returnValue === "save" && $("settings-form").checkValidity()) saveFromDialog();
    render();
  });
  $("glance-toggle").onclick = () => { settings.glance = !settings.glance; saveSettings(); render(); };
}

window.liveAttune = { handle, state, settings };
bindSettings();
fillDefinitions();
render();
if (PARAMS.has("offline")) {
  // fed by the tests' messages
} else if (KEY) {
  connect();
} else {
  setConn("nokey");  // the server answers nothing without the key printed in its address
}
if (KEY) $("reports-link").href = "reports.html?token=" + encodeURIComponent(KEY);  // it needs it too
