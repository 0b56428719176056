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
const BALANCE_TEXT = { "client-led": "client-led", "even": "even", "therapist-heavy": "therapist-heavy" };

const state = { metrics: null, status: null, session: null, events: [], transcript: [],
                ended: false, received: 0, errors: [] };
const settings = loadSettings();

function $(id) { return document.getElementById(id); }

function loadSettings() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem("live-attune.settings") || "{}"); } catch (e) { saved = {}; }
  const modality = MODALITIES[saved.modality] ? saved.modality : "person-centred";
  return Object.assign({ modality, glance: false, glanceWhat: "balance", showTranscript: false },
                       MODALITIES[modality], saved);
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

function pct(x) { return x === null || x === undefined ? "—" : Math.round(100 * x) + "%"; }

// -- message handling: dispatch on type, refuse the unknown ------------------------------
const HANDLERS = {
  snapshot(msg) {
    state.session = msg.session;
    state.metrics = msg.metrics;
    state.status = msg.status;
    state.events = (msg.recent && msg.recent.events) || [];
    state.transcript = state.events.filter((e) => e.type === "transcript");
    state.voice = state.events.filter((e) => e.type === "prosody" && e.speaker === "therapist").pop() || null;
    state.ended = false;
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
  end(msg) { state.ended = true; state.savedTo = msg.saved_to; },
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
  const floor = $("floor");
  const who = m && m.floor;
  floor.dataset.speaker = who || "";
  floor.textContent = state.ended ? "session ended" : who ? who + " has the floor" : "—";
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

function renderLatency() {
  const lat = state.metrics && state.metrics.response_latency;
  const th = thresholds();
  $("latency").textContent = lat && lat.median_s !== null ? lat.median_s.toFixed(1) + " s" : "—";
  const dots = $("latency-recent");
  dots.replaceChildren(...((lat && lat.recent_s) || []).map((g) => {
    const d = document.createElement("span");
    d.title = g.toFixed(1) + " s";
    if (th && g >= th.patient_wait_s) d.className = "patient";
    return d;
  }));
  $("latency-note").textContent = lat && lat.share_patient !== null && th ?
    pct(lat.share_patient) + " of answers waited " + th.patient_wait_s.toFixed(1) +
    " s or more" : "";
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

function renderCounts() {
  const m = state.metrics;
  const get = (obj, k) => (obj && obj[k] !== undefined ? obj[k] : 0);
  const roles = (state.session && state.session.speakers) || ["therapist", "client"];
  for (const role of roles) {
    const who = role === "therapist" ? "you" : role.replace("_", " ");
    countRow("interruptions-card", "int-" + role, "by " + who).textContent =
      get(m && m.interruptions_by, role);
    countRow("backchannels-card", "bc-" + role, who).textContent =
      get(m && m.backchannels_by, role);
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
  mark("interruptions-card", "int-reliability", r.interruptions, (w) => "Counts " + w + ".");
  mark("backchannels-card", "bc-reliability", r.backchannels, (w) => "Counts " + w + ".");
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
  $("pace").textContent = lang && lang.therapist_wpm ? Math.round(lang.therapist_wpm) + " wpm" : "—";
  $("language-note").textContent = lang ? "" : "needs the transcript";
}

function renderGlance() {
  $("full").hidden = settings.glance;
  $("glance").hidden = !settings.glance;
  if (!settings.glance) return;
  const m = state.metrics;
  const value = $("glance-value");
  let text = "—", label = "", cue = false;
  if (settings.glanceWhat === "monologue") {
    label = "your current turn";
    text = clock(m ? m.therapist_monologue_s : 0);
    cue = m && cueS() !== null ? m.therapist_monologue_s >= cueS() : false;
  } else if (settings.glanceWhat === "latency") {
    label = "room before you answer (median)";
    const med = m && m.response_latency.median_s;
    text = med === null || med === undefined ? "—" : med.toFixed(1) + " s";
  } else {
    label = "client share, " + windowText();
    text = pct(m && m.rolling_client_share);
    cue = m ? m.rolling_balance === "therapist-heavy" : false;
  }
  $("glance-label").textContent = label;
  value.textContent = text;
  value.classList.toggle("cue", cue);
}

function renderTranscript() {
  $("transcript").hidden = !settings.showTranscript;
  // The server says when it sends no words (--lan: plain HTTP on a shared network).
  $("transcript-withheld").hidden = !(state.session && state.session.words === false);
  if (!settings.showTranscript) return;
  $("transcript-lines").replaceChildren(...state.transcript.slice(-30).map((t) => {
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = t.speaker;
    li.append(who, document.createTextNode(t.text));
    return li;
  }));
}

function renderStatus() {
  const st = state.status;
  const levels = $("levels");
  if (!st) { levels.replaceChildren(); return; }
  levels.replaceChildren(...Object.entries(st.levels_db).map(([who, db]) => {
    const wrap = document.createElement("span");
    const bar = document.createElement("span");
    bar.className = "level" + (st.clipping[who] ? " clip" : "");
    const fill = document.createElement("i");
    fill.style.width = Math.max(0, Math.min(100, (db + 70) / 70 * 100)) + "%";
    bar.append(fill);
    wrap.append(document.createTextNode(who), bar);
    return wrap;
  }));
  const parts = [st.device];
  if (st.overflows || st.driver_overflows) parts.push("dropped audio blocks: " + (st.overflows + st.driver_overflows));
  if (Object.values(st.clipping).some(Boolean)) parts.push("input clipping");
  if (st.state === "lost") parts.push("microphone lost");
  for (const w of st.warnings || []) parts.push("⚑ " + w);
  if (st.store && st.store.error) parts.push("NOT SAVING — " + st.store.error + " (measuring goes on)");
  if (state.ended) parts.push(state.savedTo ? "saved to " + state.savedTo : "session ended");
  $("status-text").textContent = parts.join(" · ");
}

// -- connection --------------------------------------------------------------------------
let socket = null, retryMs = 1000;

function wsUrl() {
  const token = new URLSearchParams(location.search).get("token");
  return "ws://" + location.host + "/ws" + (token ? "?token=" + encodeURIComponent(token) : "");
}

function setConn(s) { const c = $("conn"); c.dataset.state = s; c.textContent = s; }

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
function bindSettings() {
  const dlg = $("settings");
  $("settings-toggle").onclick = () => {
    $("modality").value = settings.modality;
    $("planned-min").value = settings.plannedMin;
    $("cue-s").value = cueS() || "";
    $("glance-what").value = settings.glanceWhat;
    $("show-transcript").checked = settings.showTranscript;
    dlg.showModal();
  };
  $("modality").onchange = (e) => {
    Object.assign(settings, { modality: e.target.value, cueOverrideS: null },
                  MODALITIES[e.target.value]);
    $("planned-min").value = settings.plannedMin;
    $("cue-s").value = cueS() || "";
  };
  dlg.addEventListener("close", () => {
    settings.plannedMin = Number($("planned-min").value) || settings.plannedMin;
    const cue = Number($("cue-s").value);
    const th = thresholds();
    const fromCore = th && th.monologue_cue_s ? th.monologue_cue_s[settings.modality] : null;
    settings.cueOverrideS = cue && cue !== fromCore ? cue : null;
    settings.glanceWhat = $("glance-what").value;
    settings.showTranscript = $("show-transcript").checked;
    saveSettings();
    render();
  });
  $("glance-toggle").onclick = () => { settings.glance = !settings.glance; saveSettings(); render(); };
}

window.liveAttune = { handle, state, settings };
bindSettings();
render();
if (!new URLSearchParams(location.search).has("offline")) connect();

// The report view needs the --lan token too.
(function linkReports() {
  const t = new URLSearchParams(location.search).get("token");
  if (t) $("reports-link").href = "reports.html?token=" + encodeURIComponent(t);
})();
