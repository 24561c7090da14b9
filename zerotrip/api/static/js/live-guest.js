// The second party's page (/live/<session>/guest#<token> for an invited expert, or
// /staff/live/<session>/guest for staff): the phone's video and voice, the inspector's voice,
// talking, prompts to the phone, and who is present. An invitation's token is traded once for
// a guest key that this browser keeps for rejoins; the token leaves the address bar at once.
import { api, requireStaff } from "./api.js";
import { initPage } from "./common.js";
import { $, clearError, h, showError } from "./dom.js";
import { addStrings, t } from "./i18n.js";
import { LiveSocket, negotiate } from "./live-common.js";
import "./live-offline.js"; // the step-down strings (link.reason.*)
import { playExtraVoice, renderParticipants } from "./live-party.js";

addStrings({
  "guest.title": ["视频踏勘 · 专家协助", "Live inspection · expert assistance"],
  "guest.intro": ["您受邀协助本次远程视频踏勘：可以看到申请人手机的画面，与检查员和申请人通话，并向申请人发送拍摄提示。", "You are invited to assist this live inspection: you see the applicant's phone camera, talk with the inspector and the applicant, and can send the applicant filming prompts."],
  "guest.recorded": ["本次踏勘全程录像录音，您的声音将以您的姓名单独保存。", "The session is recorded; your voice is kept as its own track under your name."],
  "guest.join": ["加入视频踏勘", "Join the video inspection"],
  "guest.left": ["您已离开本次视频踏勘", "You left the video inspection"],
  "guest.revoked": ["邀请已被撤销，您已离开本次视频踏勘", "The invitation was revoked; you have left the session"],
  "guest.audio_only": ["申请人网络较差，视频已暂停，仅保留语音；检查员会请申请人拍摄高清照片。", "The applicant's connection is weak: video paused, voice only; the inspector asks for full-resolution photos instead."],
  "guest.no_link": ["请使用检查员发送给您的邀请链接打开本页。", "Open this page with the invitation link the inspector sent you."],
});

const sessionId = Number(location.pathname.split("/").filter(Boolean)[location.pathname.startsWith("/staff/") ? 2 : 1]);
const staffMode = location.pathname.startsWith("/staff/");
const KEY = `zerotrip.guest.${sessionId}`;
const state = { pc: null, socket: null, mic: null, prompts: [], present: [] };
window.liveGuest = state; // read by the end-to-end test

initPage();

/** The credential to join with: a staff cookie, or the guest key (redeeming the link's token). */
async function credential() {
  if (staffMode) {
    const user = await requireStaff();
    $("#whoami").textContent = user.display_name;
    return null;
  }
  const token = location.hash.slice(1);
  if (token) {
    history.replaceState(null, "", location.pathname); // the token is spent: out of sight
    const pass = await api("POST", `/api/live/sessions/${sessionId}/invitations/redeem`, { token });
    sessionStorage.setItem(KEY, pass.guest_key);
    state.name = pass.name;
  }
  const key = sessionStorage.getItem(KEY);
  if (!key) throw new Error(t("guest.no_link"));
  return key;
}

function setStatus(text) { $("#status").textContent = text; }
function enableCall(on) { $("#send-prompt").disabled = !on; }

async function join() {
  clearError("#live-error");
  $("#join").disabled = true;
  try {
    try { state.mic = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch { state.mic = null; }
    const socket = new LiveSocket(sessionId, state.key, staffMode ? "guest" : null);
    state.socket = socket;
    wire(socket);
    const welcome = await socket.open();
    state.name = welcome.name;
    state.present = welcome.present || [];
    renderParticipants("#participants", state.present);
    setStatus(t("live.connected"));
    state.iceServers = welcome.ice_servers;
    await connect(state.iceServers);
    enableCall(true);
    $("#join").classList.add("hidden");
    $("#leave").classList.remove("hidden");
    $("#talk-label").classList.toggle("hidden", !state.mic);
  } catch (err) {
    showError("#live-error", err);
    $("#join").disabled = false;
  }
}

async function connect(iceServers) {
  state.pc?.close();
  const pc = new RTCPeerConnection({ iceServers });
  state.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  if (state.mic) pc.addTrack(state.mic.getAudioTracks()[0], state.mic);
  else pc.addTransceiver("audio", { direction: "recvonly" });
  const inspector = pc.addTransceiver("audio", { direction: "recvonly" }); // the inspector's voice
  const remote = new MediaStream();
  pc.ontrack = (event) => {
    if (event.transceiver === inspector) { playExtraVoice(event.track, "inspector-voice"); return; }
    remote.addTrack(event.track); // the phone's camera and microphone
    $("#remote").srcObject = remote;
  };
  await negotiate(pc, state.socket);
}

function wire(socket) {
  socket.on("participants", (m) => { state.present = m.present; renderParticipants("#participants", m.present); });
  socket.on("link_mode", (m) => { // the phone's uplink stepped down (or recovered)
    const banner = $("#link-mode");
    state.linkMode = m.mode;
    if (m.mode === "audio_photos") {
      banner.textContent = `${t("guest.audio_only")}（${t(`link.reason.${m.reason}`)}）`;
      banner.classList.remove("hidden");
    } else {
      banner.textContent = t("link.video");
      setTimeout(() => banner.classList.add("hidden"), 5000);
    }
  });
  socket.on("prompt_shown", (m) => {
    const p = state.prompts.find((x) => x.prompt_id === m.prompt_id);
    if (p) { p.shown = true; $("#prompt-state").textContent = `✓ ${p.text}`; }
  });
  socket.on("renegotiate", () => connect(state.iceServers).catch((err) => showError("#live-error", err)));
  socket.on("ended", (m) => finish(m.state === "revoked" ? t("guest.revoked") : t("live.ended")));
}

async function sendPrompt() {
  const text = $("#prompt-text").value.trim();
  if (!text) return;
  try {
    const sent = await state.socket.request({ type: "prompt", text });
    state.prompts.push({ prompt_id: sent.prompt_id, text });
    $("#prompt-state").textContent = `… ${text}`;
    $("#prompt-text").value = "";
  } catch (err) { showError("#live-error", err); }
}

function finish(message) {
  state.ended = true;
  state.pc?.close();
  state.mic?.getTracks().forEach((tr) => tr.stop());
  enableCall(false);
  $("#leave").classList.add("hidden");
  $("#talk-label").classList.add("hidden");
  $("#join").classList.add("hidden");
  setStatus(message);
}

async function leave() {
  try { await state.socket?.request({ type: "leave" }); } catch { /* closing anyway */ }
  state.socket?.close();
  finish(t("guest.left"));
}

$("#join").addEventListener("click", join);
$("#leave").addEventListener("click", leave);
$("#send-prompt").addEventListener("click", sendPrompt);
$("#prompt-text").addEventListener("keydown", (e) => { if (e.key === "Enter") sendPrompt(); });
$("#talk").addEventListener("change", (e) => state.mic?.getAudioTracks().forEach((tr) => { tr.enabled = e.target.checked; }));
credential().then((key) => { state.key = key; }).catch((err) => {
  showError("#live-error", err);
  $("#join").disabled = true;
});
