// The applicant's live page (/a/<token>/live/<session>): readiness check, then the rear camera
// and microphone streamed to the office, large prompts, remote camera controls where the phone
// supports them, geolocation fixes, challenge codes and full-resolution photos on request.
// The recording notice is accepted before the camera starts; during the call the video fills
// the screen with prompts and the inspector's pointer over it; at the end a summary and the way
// back to the case page.
import { api, useApplicantToken } from "./api.js";
import { initPage } from "./common.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { uploadEvidence } from "./evidence-common.js";
import { addStrings, t } from "./i18n.js";
import { LiveSocket, QualityMeter, describeQuality, negotiate } from "./live-common.js";
import { applyLinkMode, offerOffline, prepareOffline } from "./live-offline.js";
import { playExtraVoice, thirdPartyNotice } from "./live-party.js";
import { POINTER_SHOWN_MS, drawPointer } from "./live-pointer.js";
import { loadSummary, renderSummary } from "./live-summary.js";

addStrings({
  "live.consent_title": ["本次踏勘将全程录像", "This inspection is recorded"],
  "live.consent_text": ["为留存审批证据，视频踏勘的画面、双方声音和您的定位会被录制并保存在案卷中，仅供审批和核查使用。点击“同意并开始”后才会打开摄像头。", "To keep evidence for the decision, the video, both voices and your location are recorded and kept on the case file, used only for the decision and its review. The camera opens only after you choose “Agree and start”."],
  "live.consent_accept": ["同意并开始", "Agree and start"],
  "live.consent_decline": ["暂不加入", "Not now"],
  "live.recording_on": ["录像中", "Recording"],
  "live.point_here": ["请拍这里", "Film here"],
  "live.left_self": ["您已离开，可在时限内重新加入", "You left; you can rejoin for a while"],
});

const parts = location.pathname.split("/");
const token = decodeURIComponent(parts[2]);
const sessionId = Number(parts[4]);
useApplicantToken(token);
const CASE_PAGE = `/a/${encodeURIComponent(token)}`;
const RETURN_AFTER_S = 30;
initPage();

const FIX_EVERY_MS = 10_000;
const STATS_EVERY_MS = 1000; // the server judges the uplink from these (see live-offline.js)
const DROPPED_AFTER_MS = 3000; // "disconnected" this long: the call has dropped
const state = { stream: null, pc: null, socket: null, facing: "environment", fixes: 0, lastFix: null, meter: null, timers: [], consented: false, pointers: [] };
window.liveApplicant = state; // read by the end-to-end test

async function loadSession() {
  const s = await api("GET", `/api/live/sessions/${sessionId}`);
  state.session = s;
  $("#session").replaceChildren(
    h("h2", {}, t("live.title")),
    h("p", {}, `${t("live.slot")}: `, h("strong", {}, `${fmtTime(s.slot_start)} – ${fmtTime(s.slot_end)}`)),
    h("p", {}, `${t("live.state")}: `, h("span", { class: "badge", id: "session-state" }, t(`state.${s.state}`))),
  );
  if (["ended", "cancelled"].includes(s.state)) showEnd(s.state).catch((err) => showError("#live-error", err));
  return s;
}

// --- readiness check ---------------------------------------------------------------------------

function checkLine(key, ok, adviceKey) {
  return h("li", { dataset: { check: key, ok: String(ok) } },
    h("span", { class: `badge ${ok ? "ok" : "warn"}` }, ok ? t("live.ok") : t("live.problem")), " ", t(`live.${key}`),
    ok ? null : h("span", { class: "advice" }, t(adviceKey)));
}

async function runReadiness() {
  const lines = [];
  const list = $("#checks");
  list.replaceChildren();
  const add = (line) => { lines.push(line); list.append(line); };
  let stream = null;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    add(checkLine("camera", true));
  } catch { add(checkLine("camera", false, "live.advice.camera")); }
  stream?.getTracks().forEach((tr) => tr.stop());
  try {
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    mic.getTracks().forEach((tr) => tr.stop());
    add(checkLine("mic", true));
  } catch { add(checkLine("mic", false, "live.advice.mic")); }
  const located = await new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(false); return; }
    navigator.geolocation.getCurrentPosition(() => resolve(true), () => resolve(false), { timeout: 10_000, enableHighAccuracy: true });
  });
  add(checkLine("location", located, "live.advice.location"));
  add(await networkLine());
  return lines.every((l) => l.dataset.ok === "true");
}

async function networkLine() {
  try {
    const rtts = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await fetch("/api/live/connectivity", { headers: { Authorization: `Bearer ${token}` } });
      rtts.push(performance.now() - t0);
    }
    const t0 = performance.now();
    const resp = await fetch("/api/live/connectivity?bytes=300000", { headers: { Authorization: `Bearer ${token}` } });
    const size = (await resp.arrayBuffer()).byteLength;
    const kbps = Math.round((size * 8) / (performance.now() - t0));
    const rtt = Math.round(Math.min(...rtts));
    const ok = rtt < 400 && kbps > 1500;
    const line = checkLine("network", ok, "live.advice.network");
    line.append(h("span", { class: "muted" }, ` (${rtt} ms, ${kbps} kbit/s)`));
    line.dataset.rtt = rtt;
    return line;
  } catch {
    return checkLine("network", false, "live.advice.offline");
  }
}

// --- the call ------------------------------------------------------------------------------------

async function openCamera(facing) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: facing, width: { ideal: 1920 }, height: { ideal: 1080 } },
    audio: { echoCancellation: true, noiseSuppression: true },
  });
  const video = stream.getVideoTracks()[0];
  if (video) video.contentHint = "detail"; // keep the resolution, let the frame rate drop
  return stream;
}

async function capabilities() {
  const track = state.stream?.getVideoTracks()[0];
  const caps = track?.getCapabilities ? track.getCapabilities() : {};
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  return {
    type: "capabilities",
    switch_camera: devices.length > 1,
    torch: Boolean(caps.torch),
    zoom: caps.zoom ? { min: caps.zoom.min, max: caps.zoom.max, step: caps.zoom.step || 0.1 } : null,
    take_photo: typeof ImageCapture !== "undefined",
    facing: state.facing,
  };
}

function setStatus(key) { $("#status").textContent = t(key); }
function notice(text) { const n = $("#notice"); n.textContent = text; n.classList.toggle("hidden", !text); }

// The recording notice comes first; the camera opens only once it is accepted (and audited).
function join() {
  if (state.consented) { start(); return; }
  $("#consent").classList.remove("hidden");
  $("#join").disabled = true;
  $("#consent-accept").focus();
}

async function start() {
  $("#consent").classList.add("hidden");
  $("#join").disabled = true;
  try {
    const socket = new LiveSocket(sessionId, token);
    state.socket = socket;
    wire(socket);
    const welcome = await socket.open();
    await socket.request({ type: "consent", accepted: true, notice: "recording-v1" });
    state.consented = true;
    state.stream = await openCamera(state.facing);
    $("#preview").srcObject = state.stream;
    document.body.classList.add("in-call");
    $("#rec").classList.remove("hidden");
    $("#session-state").textContent = t(`state.${welcome.session.state}`);
    setStatus(welcome.peer_present ? "live.connected" : "live.waiting_inspector");
    thirdPartyNotice("#third-party", welcome.present || []);
    await connect(welcome.ice_servers);
    socket.send(await capabilities());
    startFixes();
    state.timers.push(setInterval(reportStats, STATS_EVERY_MS));
    prepareOffline(state, welcome.session.case_id).catch(() => {});
    $("#leave").classList.remove("hidden");
  } catch (err) {
    showError("#live-error", err);
    state.socket?.close();
    document.body.classList.remove("in-call");
    $("#join").disabled = false;
  }
}

async function connect(iceServers) {
  state.pc?.close();
  const pc = new RTCPeerConnection({ iceServers });
  state.pc = pc;
  for (const track of state.stream.getTracks()) {
    const sender = pc.addTrack(track, state.stream);
    if (track.kind === "video") {
      const params = sender.getParameters();
      params.degradationPreference = "maintain-resolution";
      params.encodings = params.encodings?.length ? params.encodings : [{}];
      params.encodings[0].maxBitrate = 2_500_000;
      sender.setParameters(params).catch(() => {});
    }
  }
  pc.onconnectionstatechange = () => {
    clearTimeout(state.dropTimer);
    if (pc.connectionState === "failed") offerOffline(state);
    else if (pc.connectionState === "disconnected") state.dropTimer = setTimeout(() => { if (state.pc === pc && pc.connectionState !== "connected") offerOffline(state); }, DROPPED_AFTER_MS);
  };
  const third = pc.addTransceiver("audio", { direction: "recvonly" }); // a second party's voice
  pc.ontrack = (event) => {
    if (event.transceiver === third) playExtraVoice(event.track, "guest-audio");
    else if (event.track.kind === "audio") $("#inspector-audio").srcObject = new MediaStream([event.track]);
  };
  state.meter = new QualityMeter(pc, "out");
  await negotiate(pc, state.socket);
}

function wire(socket) {
  socket.on("peer", (m) => {
    setStatus(m.present ? "live.connected" : "live.peer_left");
    $("#session-state").textContent = t(m.present ? "state.live" : "state.interrupted");
  });
  socket.on("participants", (m) => thirdPartyNotice("#third-party", m.present));
  socket.on("prompt", (m) => {
    const box = $("#prompt");
    box.textContent = m.text;
    box.classList.remove("hidden");
    socket.send({ type: "prompt_shown", prompt_id: m.prompt_id });
  });
  socket.on("challenge", (m) => {
    $("#challenge-code").textContent = m.code;
    $("#challenge").classList.remove("hidden");
  });
  socket.on("challenge_done", () => $("#challenge").classList.add("hidden"));
  socket.on("still", () => notice(t("live.still_taken")));
  socket.on("control", (m) => control(m).catch(() => {}));
  socket.on("photo_request", (m) => takePhoto(m).catch((err) => showError("#live-error", err)));
  socket.on("pointer", (m) => showPointer(m));
  socket.on("ended", (m) => { finish(); showEnd(m.state).catch((err) => showError("#live-error", err)); });
  socket.on("closed", () => { if (!state.ended) { setStatus("live.peer_left"); offerOffline(state); } });
  socket.on("link_mode", (m) => applyLinkMode(state, m).catch((err) => showError("#live-error", err)));
}

async function control(m) {
  const track = state.stream.getVideoTracks()[0];
  let ok = true; let detail = ""; let value = m.value ?? null;
  try {
    if (m.action === "torch") await track.applyConstraints({ advanced: [{ torch: Boolean(m.value) }] });
    else if (m.action === "zoom") await track.applyConstraints({ advanced: [{ zoom: Number(m.value) }] });
    else if (m.action === "switch_camera") value = await switchCamera(track);
    notice(t(m.action === "torch" ? `live.did.torch_${m.value ? "on" : "off"}` : `live.did.${m.action}`));
  } catch (err) { ok = false; detail = String(err.message || err).slice(0, 300); }
  state.socket.send({ type: "control_result", action: m.action, ok, detail, value });
}

// The other camera: by facing mode, or where the cameras do not say which way they face (the
// same one comes back), the next camera in the list that gives a picture the call can send.
// The sender keeps its place in the call; the current camera stays on until one is found.
async function switchCamera(track) {
  const sender = state.pc.getSenders().find((s) => s.track?.kind === "video");
  const facing = state.facing === "environment" ? "user" : "environment";
  const open = async (which) => (await navigator.mediaDevices.getUserMedia({
    video: { ...which, width: { ideal: 1920 }, height: { ideal: 1080 } },
  })).getVideoTracks()[0];
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  const at = Math.max(0, cameras.findIndex((d) => d.deviceId === track.getSettings().deviceId));
  const candidates = [{ facingMode: facing }, ...cameras.slice(at + 1), ...cameras.slice(0, at)]
    .map((c) => (c.deviceId ? { deviceId: { exact: c.deviceId } } : c));
  const tried = new Set([track.getSettings().deviceId]);
  let reason = "no other camera";
  for (const which of candidates) {
    let next;
    try { next = await open(which); } catch (err) { reason = err.name || String(err); continue; }
    if (tried.has(next.getSettings().deviceId)) { next.stop(); continue; }
    tried.add(next.getSettings().deviceId);
    next.contentHint = "detail";
    await sender.replaceTrack(next);
    if (await encodes(sender)) {
      track.stop();
      state.stream.removeTrack(track);
      state.stream.addTrack(next);
      $("#preview").srcObject = state.stream;
      state.facing = next.getSettings().facingMode || facing;
      state.socket.send(await capabilities());
      return state.facing;
    }
    reason = "the other camera gives no picture";
    await sender.replaceTrack(track);
    next.stop();
  }
  throw new Error(reason);
}

// Whether the encoder takes frames from the sender's track: some cameras (infrared, depth)
// open fine but give frames a video call cannot send. Not judged before the call flows.
async function encodes(sender, withinMs = 3000) {
  const encoded = async () => {
    let n = 0;
    (await sender.getStats()).forEach((s) => { if (s.type === "outbound-rtp") n = s.framesEncoded || 0; });
    return n;
  };
  const start = await encoded();
  if (!start) return true;
  for (const end = performance.now() + withinMs; performance.now() < end;) {
    await new Promise((resolve) => { setTimeout(resolve, 150); });
    if ((await encoded()) > start + 1) return true; // one more may be the old camera's last
  }
  return false;
}

async function takePhoto(m) {
  notice(t("live.photo_taking"));
  const track = state.stream.getVideoTracks()[0];
  let blob = null;
  if (typeof ImageCapture !== "undefined") {
    try { blob = await new ImageCapture(track).takePhoto(); } catch { blob = null; }
  }
  if (!blob) { // canvas grab of the live camera frame
    const video = $("#preview");
    const canvas = h("canvas", { width: video.videoWidth, height: video.videoHeight });
    canvas.getContext("2d").drawImage(video, 0, 0);
    blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  }
  const fix = state.lastFix || {};
  // The request carries the one-time nonce that binds this photo to it.
  const claims = { origin: "live_photo", nonce: m.nonce, taken_at: Date.now(), live_session: m.session_id, ...fix };
  const evidence = await uploadEvidence(`/api/cases/${m.case_id}/checkpoints/${m.checkpoint_id}/evidence`, blob, claims, () => {});
  state.socket.send({ type: "photo_uploaded", checkpoint_id: m.checkpoint_id, evidence_id: evidence.id });
  notice(t("live.photo_sent"));
}

function startFixes() {
  if (!navigator.geolocation) return;
  let lastSent = 0;
  const send = () => {
    const fix = state.lastFix;
    if (!fix || Date.now() - lastSent < FIX_EVERY_MS - 100) return;
    lastSent = Date.now();
    state.fixes += 1;
    state.socket.send({ type: "fix", lat: fix.lat, lon: fix.lon, accuracy: fix.accuracy });
  };
  const id = navigator.geolocation.watchPosition((pos) => {
    state.lastFix = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy, fix_at: pos.timestamp };
    send();
  }, () => {}, { enableHighAccuracy: true, maximumAge: 5000 });
  state.timers.push({ geo: id }, setInterval(send, FIX_EVERY_MS)); // fresh fixes even when still
}

async function reportStats() {
  if (!state.meter) return;
  const q = await state.meter.sample();
  state.quality = q;
  $("#quality").textContent = describeQuality(q);
  state.socket.send({ type: "stats", stats: q });
}

function showPointer(m) {
  state.pointers.push(m);
  const svg = $("#pointer");
  const label = $("#pointer-label");
  const tip = drawPointer(svg, $("#preview"), m);
  const video = $("#preview");
  label.style.left = `${Math.min(Math.max(tip.x, 60), video.clientWidth - 60)}px`;
  label.style.top = `${Math.min(tip.y + 40, video.clientHeight - 40)}px`;
  svg.classList.remove("hidden");
  label.classList.remove("hidden");
  clearTimeout(state.pointerTimer);
  state.pointerTimer = setTimeout(() => { svg.classList.add("hidden"); label.classList.add("hidden"); }, POINTER_SHOWN_MS);
}

// Ended (or cancelled): what the session came to, and the way back to the case page (taken by
// itself after a while).
async function showEnd(endState) {
  state.ended = true;
  if (endState) $("#session-state").textContent = t(`state.${endState}`);
  for (const id of ["#readiness", "#call", "#consent"]) $(id).classList.add("hidden");
  $("#back").href = CASE_PAGE;
  $("#back-row").classList.remove("hidden");
  if (!state.returnTimer) {
    let left = RETURN_AFTER_S;
    const tick = () => { $("#returning").textContent = `${left} ${t("live.returning")}`; };
    tick();
    state.returnTimer = setInterval(() => {
      left -= 1;
      if (left <= 0) { clearInterval(state.returnTimer); location.assign(CASE_PAGE); } else tick();
    }, 1000);
  }
  const summary = await loadSummary(sessionId);
  state.summary = summary;
  $("#summary").replaceChildren(...renderSummary(summary));
  $("#summary").classList.remove("hidden");
}

function finish() {
  state.ended = true;
  for (const timer of state.timers) {
    if (timer?.geo !== undefined) navigator.geolocation.clearWatch(timer.geo); else clearInterval(timer);
  }
  state.pc?.close();
  state.stream?.getTracks().forEach((tr) => tr.stop());
  setStatus("live.ended");
  document.body.classList.remove("in-call");
  clearTimeout(state.pointerTimer);
  for (const id of ["#leave", "#prompt", "#challenge", "#notice", "#rec", "#pointer", "#pointer-label"]) $(id).classList.add("hidden");
  $("#notice").textContent = "";
}

$("#run-check").addEventListener("click", () => runReadiness());
$("#join").addEventListener("click", join);
$("#consent-accept").addEventListener("click", () => start());
$("#consent-decline").addEventListener("click", () => { $("#consent").classList.add("hidden"); $("#join").disabled = false; });
$("#leave").addEventListener("click", () => {
  state.socket?.send({ type: "leave" });
  state.socket?.close();
  finish();
  state.ended = false;
  setStatus("live.left_self");
  $("#back").href = CASE_PAGE;
  $("#back-row").classList.remove("hidden");
  $("#join").disabled = false;
});
loadSession().catch((err) => showError("#live-error", err));
