// The applicant's materials: what is received (and when), and for an outstanding (容缺) item,
// its due date with two ways to hand it in: upload the document (PDF or a photo of it) or mail
// the paper with the courier. The clerk's decision (and the reason of a rejection) shows here.
import { api, authHeaders, ApiError } from "./api.js";
import { $, fmtDate, fmtTime, h, showError } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";

addStrings({
  "mat.due": ["请于 {due} 前补交", "Please hand in by {due}"],
  "mat.received_on": ["已于 {at} 签收", "Received {at}"],
  "mat.paper": ["原件待寄达", "Paper original on its way"],
  "mat.upload": ["上传文件（PDF 或照片）", "Upload (PDF or photo)"],
  "mat.mail": ["随快递寄送原件", "Mail the paper with the courier"],
  "mat.mail_hint": ["请将原件放入快递一并寄出，工作人员签收后即完成补交。", "Put the paper in the courier parcel; it counts once the office signs for it."],
  "mat.uploading": ["正在上传…", "Uploading…"],
  "hand.submitted": ["已上传，等待工作人员审核", "Uploaded, waiting for the office"],
  "hand.mail": ["将随快递寄送，等待签收", "Coming by courier, waiting for receipt"],
  "hand.accepted": ["已通过", "Accepted"],
  "hand.rejected": ["未通过，请重新补交：", "Not accepted, please hand it in again: "],
});

let handIns = [];
let pickupComing = false; // mailing a document needs a courier that still comes to collect
const UNCOLLECTED = ["awaiting_choice", "queued", "booked", "pickup_scheduled", "attention"];

function latest(code) {
  return handIns.filter((x) => x.material_code === code && x.reason !== "replaced").at(-1);
}

async function upload(c, m, file, box) {
  box.replaceChildren(h("span", { class: "muted" }, t("mat.uploading")));
  try {
    const resp = await fetch(`/api/cases/${c.id}/materials/${encodeURIComponent(m.code)}/hand-in`, {
      method: "POST",
      body: file,
      headers: { ...authHeaders(), "Content-Type": "application/octet-stream", "X-Filename": encodeURIComponent(file.name), "Accept-Language": document.documentElement.lang || "zh-CN" },
    });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new ApiError(resp.status, data);
    document.dispatchEvent(new CustomEvent("case-changed"));
  } catch (err) {
    box.replaceChildren(h("div", { class: "error", role: "alert" }, err.message));
  }
}

async function mailIn(c, m, box) {
  try {
    await api("POST", `/api/cases/${c.id}/materials/${encodeURIComponent(m.code)}/mail-in`);
    document.dispatchEvent(new CustomEvent("case-changed"));
  } catch (err) {
    const e = h("div", { class: "error" });
    box.replaceChildren(e);
    showError(e, err);
  }
}

function handInControls(c, m) {
  const box = h("div", { class: "hand-in", dataset: { handIn: m.code } });
  const last = latest(m.code);
  const pending = last && (last.state === "submitted" || last.state === "mail");
  const parts = [];
  if (last && last.state !== "accepted") {
    parts.push(h("p", { class: last.state === "rejected" ? "error" : "notice", dataset: { handInState: last.state } },
      t(`hand.${last.state}`), last.state === "rejected" ? last.reason : "",
      last.filename ? h("span", { class: "muted" }, ` · ${last.filename}`) : null));
  }
  if (!pending) {
    const picker = h("input", { type: "file", accept: "application/pdf,image/jpeg,image/png", class: "hidden", dataset: { upload: m.code } });
    picker.addEventListener("change", () => { if (picker.files[0]) upload(c, m, picker.files[0], status); });
    const status = h("div", { role: "status" });
    parts.push(h("div", { class: "row" },
      h("button", { type: "button", dataset: { op: "upload" }, onclick: () => picker.click() }, t("mat.upload")),
      pickupComing ? h("button", { type: "button", class: "secondary", dataset: { op: "mail" }, onclick: () => mailIn(c, m, status) }, t("mat.mail")) : null, picker),
    ...(pickupComing ? [h("p", { class: "muted small" }, t("mat.mail_hint"))] : []), status);
  }
  box.append(...parts);
  return box;
}

function materialRow(c, m) {
  let note = null;
  if (m.status === "outstanding") note = h("span", { class: "due" }, t("mat.due").replace("{due}", fmtDate(m.due_date)));
  else if (m.status === "received" && m.received_at) note = h("span", { class: "muted" }, t("mat.received_on").replace("{at}", fmtTime(m.received_at)));
  else if (m.status === "expected" && m.paper_original) note = h("span", { class: "muted" }, t("mat.paper"));
  const badge = h("span", { class: `badge ${m.status === "received" ? "ok" : m.status === "outstanding" ? "warn" : ""}` }, t(`status.${m.status}`));
  return h("div", { class: "material", dataset: { material: m.code } },
    h("p", {}, pick(m, "name"), " ", badge, note ? h("br") : null, note),
    m.status === "outstanding" ? handInControls(c, m) : null);
}

export async function renderMaterials(c) {
  const open = c.materials.some((m) => m.status === "outstanding" || m.due_date);
  handIns = open ? (await api("GET", `/api/cases/${c.id}/hand-ins`)).items : [];
  pickupComing = open && c.materials.some((m) => m.status === "outstanding")
    && (await api("GET", `/api/cases/${c.id}/mailing`)).orders
      .some((o) => o.kind === "pickup" && UNCOLLECTED.includes(o.status));
  $("#materials").replaceChildren(...c.materials.map((m) => materialRow(c, m)));
}
