// The phone on a weak or lost connection.
//
// Step-down: the server judges the uplink (both ends' stats) and says "link_mode". In
// "audio_photos" the phone stops sending video (the sender keeps its place, so going back needs
// no renegotiation), says why, and probes its uplink every few seconds with a short upload over
// the signalling socket; back in "video" the camera is sent again.
//
// Offline capture: if the call drops, the phone offers in-page capture of the remaining
// checkpoints from the camera that is still open. Each photo is queued on the phone
// (IndexedDB, so a reload keeps it) with its capture time, location and a capture nonce fetched
// while the network was up, and uploaded as an ordinary in-page capture when the network
// returns: the server judges it by its original capture time and place.
import { api } from "./api.js";
import { $, h, showError } from "./dom.js";
import { uploadEvidence } from "./evidence-common.js";
import { addStrings, lang, t } from "./i18n.js";

addStrings({
  "link.audio_photos": ["网络较差，已暂停视频，仅保留语音。检查员会请您拍摄高清照片。", "Weak connection: the video is paused, the call goes on with voice. The inspector will ask you for photos."],
  "link.audio_photos_console": ["申请人网络较差，视频已暂停，仅保留语音：请用“请申请人拍高清照”。", "The applicant's connection is weak: video paused, voice only. Use “Ask for a full-res photo”."],
  "link.video": ["网络已恢复，视频已重新开启。", "The connection recovered: the video is back."],
  "link.reason.low_bitrate": ["上行带宽不足", "too little upload bandwidth"],
  "link.reason.packet_loss": ["丢包严重", "heavy packet loss"],
  "link.reason.recovered": ["网络恢复", "connection recovered"],
  "offline.title": ["网络已中断", "The connection dropped"],
  "offline.intro": ["可以先拍摄剩余的检查项，照片会保存在手机上，联网后自动上传（保留原拍摄时间和位置）。", "You can photograph the remaining checkpoints now: the photos stay on this phone and upload by themselves when the network returns, with their original time and location."],
  "offline.take": ["拍摄", "Take photo"],
  "offline.queued": ["已保存，待上传", "Saved, waiting to upload"],
  "offline.uploaded": ["已上传", "Uploaded"],
  "offline.failed": ["上传被拒绝", "Upload refused"],
  "offline.pending": ["张照片待上传", "photo(s) waiting to upload"],
  "offline.back_online": ["网络已恢复，正在上传…", "Back online, uploading…"],
  "offline.rejoin": ["重新加入视频踏勘", "Rejoin the video inspection"],
});

const PROBE_EVERY_MS = 2000;
const PROBE_PARTS = 6;
const PROBE_PART_BYTES = 12 * 1024;
const NONCE_REFRESH_MS = 8 * 60 * 1000; // capture nonces last 10 minutes
const UPLOAD_RETRY_MS = 2000;
const DB_NAME = "zerotrip-offline";
const STORE = "captures";

// --- step-down -------------------------------------------------------------------------------

/** Apply a "link_mode" message on the phone: pause or resume the video, say why. */
export async function applyLinkMode(state, m) {
  state.linkMode = m.mode;
  state.linkChanges = [...(state.linkChanges || []), { mode: m.mode, reason: m.reason, at: Date.now() }];
  const sender = state.pc?.getSenders().find((s) => s.track?.kind === "video" || s === state.videoSender);
  if (sender) state.videoSender = sender;
  const camera = state.stream?.getVideoTracks()[0] || null;
  const banner = $("#link-mode");
  if (m.mode === "audio_photos") {
    if (state.videoSender) await state.videoSender.replaceTrack(null);
    banner.textContent = `${t("link.audio_photos")}（${t(`link.reason.${m.reason}`)}）`;
    banner.classList.remove("hidden");
    startProbes(state);
  } else {
    stopProbes(state);
    if (state.videoSender && camera) await state.videoSender.replaceTrack(camera);
    banner.textContent = t("link.video");
    setTimeout(() => { if (state.linkMode === "video") banner.classList.add("hidden"); }, 5000);
  }
}

function startProbes(state) {
  if (state.probeTimer) return;
  let serial = 0;
  let busy = false;
  const pad = "x".repeat(PROBE_PART_BYTES);
  state.probeTimer = setInterval(async () => {
    if (busy || state.socket?.ws?.readyState !== WebSocket.OPEN) return;
    if (state.socket.ws.bufferedAmount > 0) return; // the last probe has not left yet
    busy = true;
    serial += 1;
    try {
      for (let part = 0; part < PROBE_PARTS - 1; part++) state.socket.send({ type: "probe", probe: serial, part, parts: PROBE_PARTS, pad });
      const result = await state.socket.request({ type: "probe", probe: serial, part: PROBE_PARTS - 1, parts: PROBE_PARTS, pad });
      state.lastProbe = result;
    } catch { /* a probe refused or lost: the next one tells */ } finally { busy = false; }
  }, PROBE_EVERY_MS);
}

function stopProbes(state) {
  clearInterval(state.probeTimer);
  state.probeTimer = null;
}

/** The console's side of a "link_mode" message: the banner, in the console's language. */
export function consoleLinkMode(m, banner) {
  if (m.mode === "audio_photos") {
    banner.textContent = `${t("link.audio_photos_console")}（${t(`link.reason.${m.reason}`)}）`;
    banner.classList.remove("hidden");
  } else {
    banner.textContent = t("link.video");
    setTimeout(() => banner.classList.add("hidden"), 5000);
  }
}

// --- the offline queue (IndexedDB) -----------------------------------------------------------

function openQueue() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function inStore(mode, work) {
  const db = await openQueue();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally { db.close(); }
}

export const queued = () => inStore("readonly", (s) => s.getAll());
const enqueue = (item) => inStore("readwrite", (s) => s.add(item));
const dequeue = (id) => inStore("readwrite", (s) => s.delete(id));

// --- offline capture ---------------------------------------------------------------------------

/** While online: the case's checkpoints a photo can be taken for, each with a fresh nonce. */
export async function prepareOffline(state, caseId) {
  state.caseId = caseId;
  const refresh = async () => {
    try {
      const c = await api("GET", `/api/cases/${caseId}`);
      const open = (c.checkpoints || []).filter((cp) => !cp.restricted);
      const nonces = {};
      for (const cp of open) nonces[cp.id] = (await api("POST", `/api/cases/${caseId}/checkpoints/${cp.id}/nonce`)).nonce;
      state.offlineCheckpoints = open;
      state.offlineNonces = nonces;
    } catch { /* offline already: keep what we have */ }
  };
  await refresh();
  state.timers.push(setInterval(refresh, NONCE_REFRESH_MS));
  state.timers.push(setInterval(() => flush(state), UPLOAD_RETRY_MS));
  flush(state);
}

/** The call dropped: offer to photograph the remaining checkpoints. */
export function offerOffline(state) {
  if (state.offline || state.ended || !state.offlineCheckpoints?.length) return;
  state.offline = true;
  const card = $("#offline");
  const list = h("ul", { class: "offline-list" });
  for (const cp of state.offlineCheckpoints) {
    const status = h("span", { class: "muted", dataset: { status: cp.id } });
    const take = h("button", { class: "secondary", dataset: { checkpoint: cp.id } }, t("offline.take"));
    take.addEventListener("click", () => captureOffline(state, cp, status).catch((err) => showError("#live-error", err)));
    list.append(h("li", {}, h("strong", {}, lang === "zh" ? cp.title_zh : cp.title_en), " ", take, " ", status));
  }
  card.replaceChildren(h("h2", {}, t("offline.title")), h("p", {}, t("offline.intro")), list, h("p", { class: "muted", id: "offline-pending" }));
  card.classList.remove("hidden");
  $("#status").textContent = t("offline.title");
  refreshPending(state);
}

async function captureOffline(state, cp, status) {
  const video = $("#preview");
  const canvas = h("canvas", { width: video.videoWidth, height: video.videoHeight });
  canvas.getContext("2d").drawImage(video, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  const fix = state.lastFix || {};
  await enqueue({
    case_id: state.caseId,
    checkpoint_id: cp.id,
    blob,
    claims: { origin: "capture", nonce: state.offlineNonces?.[cp.id], taken_at: Date.now(), ...fix },
  });
  status.textContent = t("offline.queued");
  await refreshPending(state);
}

async function refreshPending(state) {
  const items = await queued();
  state.pendingUploads = items.length;
  const line = $("#offline-pending");
  if (line) line.textContent = items.length ? `${items.length} ${t("offline.pending")}` : "";
}

/** Upload what is queued, oldest first; a network failure leaves it queued for the next try,
 * a refusal (4xx) takes it off the queue and says so. */
async function flush(state) {
  if (state.flushing) return;
  state.flushing = true;
  try {
    for (const item of await queued()) {
      const status = document.querySelector(`[data-status="${item.checkpoint_id}"]`);
      try {
        const evidence = await uploadEvidence(`/api/cases/${item.case_id}/checkpoints/${item.checkpoint_id}/evidence`, item.blob, item.claims, () => {});
        await dequeue(item.id);
        state.uploaded = [...(state.uploaded || []), { checkpoint_id: item.checkpoint_id, evidence_id: evidence.id, taken_at: item.claims.taken_at }];
        if (status) status.textContent = t("offline.uploaded");
      } catch (err) {
        if (!err.status) break; // still offline: try again later
        await dequeue(item.id);
        if (status) status.textContent = `${t("offline.failed")}: ${err.message}`;
      }
    }
  } finally {
    state.flushing = false;
    if (state.offline) await refreshPending(state).catch(() => {});
  }
}
