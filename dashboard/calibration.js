// live-attune calibration view: shows the wizard's progress (calibration/ does the work).
// Wire format: live_attune/server/messages.py, type "calibration" (version 1).
"use strict";

function $(id) { return document.getElementById(id); }
const STEPS = { waiting: "getting ready", quiet: "1 · the room", therapist: "2 · you speak", client: "3 · the client speaks",
                enrol: "4 · voice enrolment", done: "results", failed: "stopped" };

function meter(i, db, clip, name) {
  const wrap = document.createElement("div");
  wrap.className = "cal-meter";
  const label = document.createElement("span");
  label.textContent = name;  // "channel 1" ..., or a video call's "your microphone", "the call"
  const bar = document.createElement("span");
  bar.className = "level" + (clip ? " clip" : "");
  const fill = document.createElement("i");
  fill.style.width = Math.max(0, Math.min(100, (db + 70) / 70 * 100)) + "%";
  bar.append(fill);
  const value = document.createElement("span");
  value.dataset.channel = String(i);
  // dB below the loudest level the input can take (dBFS): 0 is the top, -60 near silence
  value.textContent = Math.round(db) + " dB" + (clip ? " · too loud (clipping)" : "");
  value.title = "level in dB below the loudest the microphone input can take (dBFS)";
  wrap.append(label, bar, value);
  return wrap;
}

function handle(msg) {
  if (msg.v !== 1) throw new Error("unsupported message version " + msg.v);
  if (msg.type === "pong" || msg.type === "error") return;
  if (msg.type !== "calibration") throw new Error("unknown message type " + msg.type);
  $("cal-step").textContent = STEPS[msg.step] || msg.step;
  $("cal-prompt").textContent = msg.prompt;
  $("cal-left").textContent = msg.step === "done" ? "" : msg.seconds_left.toFixed(0) + " s left";
  $("cal-meters").replaceChildren(...msg.levels_db.map((db, i) =>
    meter(i, db, msg.clipping[i], msg.channels[i])));
  $("cal-lines").replaceChildren(...msg.lines.map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    return li;
  }));
  $("cal-profile").textContent = msg.profile ? "Saved as " + msg.profile : "";
}

function connect() {
  const socket = new WebSocket("ws://" + location.host + "/ws" + location.search);
  socket.onopen = () => { $("conn").dataset.state = "open"; $("conn").textContent = "connected"; };
  socket.onmessage = (e) => handle(JSON.parse(e.data));
  socket.onclose = () => {
    $("conn").dataset.state = "closed";
    $("conn").textContent = "calibration server stopped";
  };
}

window.liveAttuneCalibration = { handle };
const params = new URLSearchParams(location.search);
if (params.has("offline")) {
  // fed by the tests' messages
} else if (params.get("token")) {
  connect();
} else {  // the server answers nothing without the key printed in its address
  $("conn").dataset.state = "nokey";
  $("conn").textContent = "no key: open the address live-attune printed";
}
