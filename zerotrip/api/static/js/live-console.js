// The inspector's console (/staff/live/<session>): the applicant's video and voice, talk-back,
// prompts, a still per checkpoint, remote controls the phone supports, distance to the premises,
// challenge codes, and connection quality from both ends and the server. Each checkpoint shows
// its ticks (still taken, photo received, verdict given); a click or a drag on the video points
// at something on the phone; the end shows what the session came to.
import { api } from "./api.js";
import { initStaffPage } from "./common.js";
import { $, clearError, fmtTime, h, showError } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";
import { LiveSocket, QualityMeter, describeQuality, negotiate } from "./live-common.js";
import { consoleLinkMode } from "./live-offline.js";
import { invitationPanel, playExtraVoice, renderParticipants } from "./live-party.js";
import { pointerInput } from "./live-pointer.js";
import { loadSummary, renderSummary, ticks } from "./live-summary.js";

addStrings({
  "live.pointer_hint": ["在画面上点击可圈出位置，拖动可画箭头，申请人手机上会显示“请拍这里”。", "Click the video to circle a spot, drag to draw an arrow: the phone shows “film here”."],
  "live.pointer_sent": ["已在申请人画面上标出", "Shown on the applicant's screen"],
  "live.rec_on": ["● 录像中", "● Recording"],
  "live.rec_off": ["未在录像", "Not recording"],
  "live.rec_saved": ["已保存片段", "segments saved"],
});

const sessionId = Number(location.pathname.split("/").pop());
const state = { pc: null, socket: null, meter: null, mic: null, stills: [], prompts: [], quality: {}, capabilities: {}, challenge: null, timers: [], tallies: {}, pointers: [], segments: 0 };
window.liveConsole = state; // read by the end-to-end test

await initStaffPage();

async function load() {
  const s = await api("GET", `/api/live/sessions/${sessionId}`);
  const c = await api("GET", `/api/cases/${s.case_id}`);
  state.session = s;
  state.case = c;
  $("#session").replaceChildren(
    h("h2", {}, h("a", { href: `/staff/cases/${c.id}` }, c.reference), " · ", c.applicant_name, " · ", c.premises_address),
    h("p", {}, `${t("live.slot")}: ${fmtTime(s.slot_start)} – ${fmtTime(s.slot_end)} · `,
      h("span", { class: "badge", id: "session-state" }, t(`state.${s.state}`))),
  );
  const summary = await api("GET", `/api/live/sessions/${sessionId}/summary`);
  for (const tally of summary.checkpoints) state.tallies[tally.checkpoint_id] = tally;
  $("#checkpoints").replaceChildren(...c.checkpoints.map((cp) => h("div", { class: "checkpoint", dataset: { checkpoint: cp.id } },
    h("span", {}, pick(cp, "title")), h("span", { class: "tick-slot" }),
    h("button", { class: "secondary capture", disabled: !state.inCall, onclick: () => capture(cp) }, t("live.capture")),
    h("button", { class: "secondary ask-photo", disabled: !state.inCall, onclick: () => askPhoto(cp) }, t("live.ask_photo")),
  )));
  renderTicks();
  if (["ended", "cancelled"].includes(s.state)) finish(s.state);
}

function renderTicks() {
  for (const row of document.querySelectorAll("#checkpoints .checkpoint")) {
    const tally = state.tallies[row.dataset.checkpoint];
    if (tally) row.querySelector(".tick-slot").replaceChildren(ticks(tally));
  }
}

function tallyOf(m) {
  const tally = state.tallies[m.checkpoint_id];
  if (!tally) return;
  if (m.source === "live_photo") tally.photos += 1; else tally.stills += 1;
  renderTicks();
}

async function point(shape) {
  try {
    const sent = await state.socket.request({ type: "pointer", ...shape });
    state.pointers.push({ ...shape, video_offset_ms: sent.video_offset_ms });
    $("#control-state").textContent = t("live.pointer_sent");
  } catch (err) { showError("#live-error", err); }
}

function renderRecording(on) {
  const el = $("#rec-state");
  el.classList.toggle("on", on);
  el.textContent = `${t(on ? "live.rec_on" : "live.rec_off")}${state.segments ? ` · ${t("live.rec_saved")} ${state.segments}` : ""}`;
  el.dataset.recording = String(on);
}

function setStatus(key) { $("#status").textContent = t(key); }
function enableCall(on) {
  state.inCall = on; // checkpoints rendered later (a slow load) follow it too
  for (const b of document.querySelectorAll(".capture, .ask-photo, #send-prompt, #issue-code")) b.disabled = !on;
}

async function join() {
  clearError("#live-error");
  $("#join").disabled = true;
  try {
    try { state.mic = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch { state.mic = null; }
    const socket = new LiveSocket(sessionId, null); // the staff cookie authenticates
    state.socket = socket;
    wire(socket);
    const welcome = await socket.open();
    $("#session-state").textContent = t(`state.${welcome.session.state}`);
    state.iceServers = welcome.ice_servers;
    setStatus(welcome.peer_present ? "live.connected" : "live.waiting_applicant");
    state.present = welcome.present || [];
    renderParticipants("#participants", state.present);
    await connect();
    enableCall(true);
    $("#end").classList.remove("hidden");
    $("#talk-label").classList.toggle("hidden", !state.mic);
    $("#pointer-hint").classList.remove("hidden");
    state.timers.push(setInterval(reportStats, 2000));
  } catch (err) {
    showError("#live-error", err);
    $("#join").disabled = false;
  }
}

async function connect() {
  state.pc?.close();
  const pc = new RTCPeerConnection({ iceServers: state.iceServers });
  state.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  if (state.mic) pc.addTrack(state.mic.getAudioTracks()[0], state.mic);
  else pc.addTransceiver("audio", { direction: "recvonly" });
  const third = pc.addTransceiver("audio", { direction: "recvonly" }); // a second party's voice
  const remote = new MediaStream();
  pc.ontrack = (event) => {
    if (event.transceiver === third) { playExtraVoice(event.track, "guest-audio"); return; }
    remote.addTrack(event.track);
    $("#remote").srcObject = remote;
  };
  state.meter = new QualityMeter(pc, "in");
  await negotiate(pc, state.socket);
}

function wire(socket) {
  socket.on("peer", (m) => {
    setStatus(m.present ? "live.connected" : "live.peer_left");
    $("#session-state").textContent = t(m.present ? "state.live" : "state.interrupted");
  });
  socket.on("guest_prompt", (m) => { // the second party asked the applicant for something
    state.prompts.push({ prompt_id: m.prompt_id, text: m.text, shown: false, by: m.name });
    $("#prompt-state").textContent = `… ${m.name}：${m.text}`;
  });
  socket.on("participants", (m) => {
    state.present = m.present;
    renderParticipants("#participants", m.present);
    state.invitations.refresh(); // a guest came (a link was used) or went
  });
  socket.on("renegotiate", () => connect().catch((err) => showError("#live-error", err)));
  socket.on("capabilities", (m) => { state.capabilities = m; renderControls(m); });
  socket.on("presence", (m) => renderPresence(m));
  socket.on("prompt_shown", (m) => {
    const p = state.prompts.find((x) => x.prompt_id === m.prompt_id);
    if (!p) return;
    p.shown = true;
    $("#prompt-state").textContent = `✓ ${p.by ? `${p.by}：` : ""}${p.text}`;
  });
  socket.on("control_result", (m) => {
    state.controls = [...(state.controls || []), m];
    const name = { switch_camera: "live.switch_camera", torch: "live.torch", zoom: "live.zoom" }[m.action];
    $("#control-state").textContent = `${name ? t(name) : m.action}: ${m.ok ? "✓" : `✗ ${m.detail}`}`;
    // A control the phone could not apply goes back to what it was.
    if (m.action === "torch" && !m.ok) $("#torch")?.setAttribute("aria-pressed", String(!m.value));
    if (m.action === "zoom" && $("#zoom")) {
      if (m.ok) $("#zoom").dataset.applied = m.value;
      else { $("#zoom").value = $("#zoom").dataset.applied; $("#zoom").dispatchEvent(new Event("input")); }
    }
  });
  socket.on("still", (m) => { if (!m.reply_to) addStill(m); }); // our own clicks come as replies
  socket.on("photo", (m) => addStill({ ...m, url: `/api/evidence/${m.evidence_id}/display`, source: "live_photo" }));
  socket.on("recording", () => { state.segments += 1; state.recordings = state.segments; renderRecording(true); });
  socket.on("peer_stats", (m) => { state.quality.phone = m; renderQuality(); });
  socket.on("server_stats", (m) => { state.quality.server = m; renderQuality(); renderRecording(Boolean(m.recording)); });
  socket.on("ended", (m) => finish(m.state));
  socket.on("link_mode", (m) => { state.linkMode = m.mode; consoleLinkMode(m, $("#link-mode")); });
  socket.on("error", (m) => { if (m.reply_to) showError("#live-error", m.detail); });
}

async function sendPrompt() {
  const text = $("#prompt-text").value.trim();
  if (!text) return;
  try {
    const sent = await state.socket.request({ type: "prompt", text });
    state.prompts.push({ prompt_id: sent.prompt_id, text, shown: false });
    $("#prompt-state").textContent = `… ${text}`;
    $("#prompt-text").value = "";
  } catch (err) { showError("#live-error", err); }
}

async function capture(cp) {
  try { addStill(await state.socket.request({ type: "capture", checkpoint_id: cp.id })); } catch (err) { showError("#live-error", err); }
}

async function askPhoto(cp) {
  try { await state.socket.request({ type: "photo_request", checkpoint_id: cp.id }); } catch (err) { showError("#live-error", err); }
}

function addStill(m) {
  state.stills.push(m);
  tallyOf(m);
  const cp = state.case.checkpoints.find((x) => x.id === m.checkpoint_id);
  const caption = [cp ? pick(cp, "title") : "", m.width ? `${m.width}×${m.height}` : "", m.video_offset_ms != null ? `@${(m.video_offset_ms / 1000).toFixed(1)} s` : ""].filter(Boolean).join(" · ");
  const source = m.source || "live_still";
  $("#stills").prepend(h("figure", { dataset: { evidence: m.evidence_id, checkpoint: m.checkpoint_id, source } },
    h("img", { src: m.url, alt: caption }), h("figcaption", {}, source === "live_photo" ? `${t("live.photo")} · ${caption}` : caption)));
}

function renderControls(caps) {
  const items = [];
  const control = (action, value) => state.socket.request({ type: "control", action, value }).catch((err) => showError("#live-error", err));
  if (caps.switch_camera) items.push(h("button", { class: "secondary", id: "switch-camera", onclick: () => control("switch_camera") }, t("live.switch_camera")));
  if (caps.torch) {
    const torch = h("button", { class: "secondary", id: "torch", "aria-pressed": "false" }, t("live.torch"));
    torch.addEventListener("click", () => {
      const on = torch.getAttribute("aria-pressed") !== "true";
      torch.setAttribute("aria-pressed", String(on));
      control("torch", on);
    });
    items.push(torch);
  }
  if (caps.zoom) {
    const slider = h("input", { type: "range", id: "zoom", min: caps.zoom.min, max: caps.zoom.max, step: caps.zoom.step, value: caps.zoom.min, dataset: { applied: caps.zoom.min } });
    const shown = h("span", { class: "mono" }, `${caps.zoom.min}×`);
    slider.addEventListener("input", () => { shown.textContent = `${slider.value}×`; });
    slider.addEventListener("change", () => control("zoom", Number(slider.value)));
    items.push(h("label", { class: "zoom" }, h("span", {}, t("live.zoom"), " ", shown), slider));
  }
  $("#controls").replaceChildren(...(items.length ? items : [h("p", { class: "muted" }, t("live.no_controls"))]));
}

function renderPresence(m) {
  state.presence = m;
  $("#presence").replaceChildren(
    h("dt", {}, t("live.distance")), h("dd", { id: "distance" }, m.distance_m == null ? "—" : `${Math.round(m.distance_m)} m`),
    h("dt", {}, t("live.accuracy")), h("dd", {}, `±${Math.round(m.accuracy)} m`),
    h("dt", {}, t("live.fix_time")), h("dd", {}, fmtTime(m.at)),
  );
}

async function issueCode() {
  try {
    const issued = await state.socket.request({ type: "challenge" });
    state.challenge = issued;
    $("#code").textContent = issued.code;
    $("#code-box").classList.remove("hidden");
  } catch (err) { showError("#live-error", err); }
}

async function answerCode(shown) {
  if (!state.challenge) return;
  try {
    await state.socket.request({ type: "challenge_result", challenge_id: state.challenge.challenge_id, shown });
    $("#code").textContent = `${state.challenge.code} ${shown ? "✓" : "✗"}`;
    state.challenge = null;
  } catch (err) { showError("#live-error", err); }
}

async function reportStats() {
  if (!state.meter) return;
  state.quality.here = await state.meter.sample();
  renderQuality();
  state.socket.send({ type: "stats", stats: state.quality.here });
}

function renderQuality() {
  const q = state.quality;
  $("#quality").replaceChildren(
    h("dt", {}, t("live.here")), h("dd", { id: "q-here" }, describeQuality(q.here)),
    h("dt", {}, t("live.phone")), h("dd", { id: "q-phone" }, describeQuality(q.phone)),
    h("dt", {}, t("live.server")), h("dd", { id: "q-server" }, describeQuality(q.server)),
  );
}

// Ended: every call control off (the code buttons too), the recording state final, and the
// summary of what the session came to.
function finish(endState) {
  state.ended = true;
  state.timers.forEach(clearInterval);
  state.pc?.close();
  state.mic?.getTracks().forEach((tr) => tr.stop());
  enableCall(false);
  for (const b of document.querySelectorAll("#code-shown, #code-not-shown, #join, #controls button, #controls input")) b.disabled = true;
  $("#code-box").classList.add("hidden");
  $("#pointer-hint").classList.add("hidden");
  $("#invite").classList.add("hidden"); // invitations end with the session
  $("#join").classList.add("hidden");
  $("#control-state").textContent = "";
  if (endState) $("#session-state").textContent = t(`state.${endState}`);
  setStatus("live.ended");
  $("#end").classList.add("hidden");
  $("#talk-label").classList.add("hidden");
  renderRecording(false);
  loadSummary(sessionId).then((summary) => {
    state.summary = summary;
    const watch = summary.recording_segments
      ? h("p", {}, h("a", { class: "button", id: "watch", href: `/staff/live/${sessionId}/recording` }, t("live.watch")))
      : null;
    $("#summary").replaceChildren(...renderSummary(summary), ...(watch ? [watch] : []));
    $("#summary").classList.remove("hidden");
  }).catch((err) => showError("#live-error", err));
}

$("#join").addEventListener("click", join);
pointerInput($("#remote"), (shape) => { if (state.socket && !state.ended) point(shape); });
$("#end").addEventListener("click", () => state.socket?.send({ type: "end" }));
$("#send-prompt").addEventListener("click", sendPrompt);
$("#prompt-text").addEventListener("keydown", (e) => { if (e.key === "Enter") sendPrompt(); });
$("#issue-code").addEventListener("click", issueCode);
$("#code-shown").addEventListener("click", () => answerCode(true));
$("#code-not-shown").addEventListener("click", () => answerCode(false));
$("#talk").addEventListener("change", (e) => state.mic?.getAudioTracks().forEach((tr) => { tr.enabled = e.target.checked; }));
state.invitations = invitationPanel(sessionId);
$("#join-as-guest").href = `/staff/live/${sessionId}/guest`; // a supervisor, while the inspector runs it
$("#invite").replaceChildren(...state.invitations.nodes);
load().catch((err) => showError("#live-error", err));
