// Applicant page: take a photo for each checklist item inside the page (camera + geolocation +
// a server-issued capture nonce), or choose one from the gallery (marked as such). Uploads show
// progress; a failed upload can be retried with the same nonce and bytes, which never creates
// a duplicate.
import { api } from "./api.js";
import { $, h, showError } from "./dom.js";
import { pick, t } from "./i18n.js";
import { imageUrl, uploadEvidence } from "./evidence-common.js";

// Photos are invited only once pre-review accepted the case (not before), until the inspection ends.
const OPEN_STATES = new Set(["accepted", "inspecting", "rectifying"]);
let current = null;

function locate() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({ lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy, fix_at: Math.round(pos.timestamp) }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 },
    );
  });
}

function uploadsUrl(cp) { return `/api/cases/${current.id}/checkpoints/${cp.id}/evidence`; }

async function addThumb(list, evidence) {
  list.querySelector(".ev-none")?.remove();
  const img = h("img", { class: "ev-thumb", alt: "", dataset: { evidence: evidence.id } });
  list.append(img);
  try { img.src = await imageUrl(evidence.urls.thumb); } catch { /* shown as an empty tile */ }
}

/** Upload with a progress bar; on failure offer a retry that resends the same bytes and nonce. */
async function send(cp, row, blob, claims) {
  const status = $(".ev-status", row);
  const bar = h("progress", { max: 1, value: 0, class: "ev-progress" });
  const label = h("span", {}, t("ev.uploading"));
  status.replaceChildren(label, bar);
  try {
    const evidence = await uploadEvidence(uploadsUrl(cp), blob, claims, (p) => {
      bar.value = p;
      label.textContent = `${t("ev.uploading")} ${Math.round(p * 100)}%`;
    });
    status.replaceChildren(h("span", { class: "badge ok", dataset: { uploaded: evidence.id } }, t("ev.uploaded")));
    if (!$(`[data-evidence="${evidence.id}"]`, row)) await addThumb($(".ev-list", row), evidence);
  } catch (err) {
    status.replaceChildren(
      h("span", { class: "badge bad" }, t("ev.failed")), " ", h("span", { class: "muted" }, err.message), " ",
      h("button", { class: "secondary ev-retry", onclick: () => send(cp, row, blob, claims) }, t("ev.retry")),
    );
  }
}

async function openCamera(cp, row) {
  const panel = $(".ev-camera", row);
  const status = $(".ev-status", row);
  let stream;
  let nonce;
  try {
    nonce = (await api("POST", `/api/cases/${current.id}/checkpoints/${cp.id}/nonce`)).nonce;
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1920 } }, audio: false });
  } catch (err) {
    status.replaceChildren(h("span", { class: "error" }, err.status ? err.message : t("ev.no_camera")));
    return;
  }
  const fix = locate();
  status.replaceChildren(h("span", { class: "muted" }, t("ev.locating")));
  const video = h("video", { autoplay: true, playsinline: true, muted: true, class: "ev-video" });
  video.srcObject = stream;
  const stop = () => { stream.getTracks().forEach((tr) => tr.stop()); panel.replaceChildren(); panel.classList.add("hidden"); };
  const shutter = h("button", { class: "ev-shutter", onclick: async () => {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const takenAt = Date.now();
    stop();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    const where = await fix;
    if (!where) status.replaceChildren(h("span", { class: "muted" }, t("ev.no_location")));
    await send(cp, row, blob, { origin: "capture", nonce, taken_at: takenAt, ...(where || {}) });
  } }, t("ev.shutter"));
  panel.replaceChildren(video, h("div", { class: "row" }, shutter, h("button", { class: "secondary", onclick: () => { stop(); status.replaceChildren(); } }, t("ev.cancel"))));
  panel.classList.remove("hidden");
  fix.then(() => { if ($(".ev-status", row).textContent === t("ev.locating")) status.replaceChildren(); });
}

function checkpointRow(cp, mine) {
  const picker = h("input", { type: "file", accept: "image/*,video/*", class: "hidden ev-file" });
  const row = h("div", { class: "ev-checkpoint", dataset: { checkpoint: cp.id } },
    h("h3", {}, pick(cp, "title")),
    h("p", { class: "muted" }, pick(cp, "guidance")),
    h("div", { class: "ev-list" }, mine.length ? [] : h("span", { class: "muted ev-none" }, t("ev.none"))),
    h("div", { class: "ev-camera hidden" }),
    h("div", { class: "row ev-buttons" },
      h("button", { class: "ev-take", onclick: () => openCamera(cp, row) }, t("ev.take")),
      h("button", { class: "secondary ev-gallery", onclick: () => picker.click() }, t("ev.gallery")),
      picker),
    h("div", { class: "ev-status", role: "status" }),
  );
  picker.addEventListener("change", async () => {
    const file = picker.files[0];
    picker.value = "";
    if (file) await send(cp, row, file, { origin: "gallery", ...((await locate()) || {}) });
  });
  for (const ev of mine) addThumb($(".ev-list", row), ev);
  return row;
}

document.addEventListener("case-loaded", async (event) => {
  current = event.detail;
  $("#evidence-capture")?.remove();
  if (!OPEN_STATES.has(current.state) || !current.checkpoints.length) return;
  const card = h("div", { class: "card", id: "evidence-capture" }, h("h2", {}, t("ev.title")), h("p", { class: "muted" }, t("ev.intro")));
  $("#extensions").append(card);
  try {
    const { items } = await api("GET", `/api/cases/${current.id}/evidence`);
    for (const cp of current.checkpoints) card.append(checkpointRow(cp, items.filter((e) => e.checkpoint_id === cp.id)));
  } catch (err) {
    const box = h("div", { class: "error" });
    card.append(box);
    showError(box, err);
  }
});
