// The applicant's side of the review: what needs rectifying (with the inspector's comment), the
// signed inspection report to download, and the certificate with its public check.
import { api, authHeaders } from "./api.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";

addStrings({
  "arev.rectify": ["需要整改的项目", "What needs rectifying"],
  "arev.rectify_hint": ["请只为以下项目重新拍照提交，整改完成后点击“整改后恢复踏勘”。", "Take new photos for these items only, then choose “Resume after rectification”."],
  "arev.report": ["踏勘报告", "Inspection report"],
  "arev.download": ["下载踏勘报告", "Download the inspection report"],
  "arev.certificate": ["电子证照", "Certificate"],
  "arev.download_cert": ["下载证照", "Download the certificate"],
  "arev.verify": ["核验证照", "Check the certificate"],
  "arev.revoked": ["已撤销", "Revoked"],
});

function card(id) {
  let box = document.getElementById(id);
  if (!box) {
    box = h("div", { class: "card", id });
    $("#extensions").append(box);
  }
  return box;
}

async function download(path, filename, err) {
  try {
    const resp = await fetch(path, { headers: authHeaders() });
    if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).detail || `HTTP ${resp.status}`);
    const url = URL.createObjectURL(await resp.blob());
    const a = h("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    showError(err, e);
  }
}

async function show(c) {
  const todo = c.state === "rectifying" ? c.checkpoints.filter((cp) => cp.round > 1 && !cp.verdict) : [];
  const rect = card("rectification");
  rect.classList.toggle("hidden", !todo.length);
  rect.replaceChildren(h("h2", {}, t("arev.rectify")), h("p", { class: "muted" }, t("arev.rectify_hint")),
    h("ul", {}, ...todo.map((cp) => h("li", { dataset: { rectify: cp.code } }, h("strong", {}, pick(cp, "title")), cp.verdict_comment ? ` — ${cp.verdict_comment}` : ""))));
  const docs = await api("GET", `/api/cases/${c.id}/documents`);
  const report = docs.reports.at(-1);
  const rep = card("report-card");
  rep.classList.toggle("hidden", !report);
  if (report) {
    const err = h("div", { class: "error hidden", role: "alert" });
    rep.replaceChildren(h("h2", {}, t("arev.report")),
      h("p", { class: "muted" }, `v${report.version} · ${fmtTime(report.signed_at)}`),
      h("button", { type: "button", id: "download-report", onclick: () => download(`/api/cases/${c.id}/report`, `${c.reference}-report-v${report.version}.pdf`, err) }, t("arev.download")),
      h("p", { class: "mono" }, `SHA-256 ${report.sha256}`), err);
  }
  const cert = docs.certificates.at(-1);
  const box = card("certificate-card");
  box.classList.toggle("hidden", !cert);
  if (cert) {
    const err = h("div", { class: "error hidden", role: "alert" });
    box.replaceChildren(h("h2", {}, t("arev.certificate")),
      h("p", { class: "mono" }, cert.code, " ", cert.revoked_at ? h("span", { class: "badge bad" }, t("arev.revoked")) : null),
      h("p", {}, h("button", { type: "button", onclick: () => download(`/api/cases/${c.id}/certificate`, `${c.reference}-certificate.pdf`, err) }, t("arev.download_cert")), " ",
        h("a", { href: `/verify/${cert.code}` }, t("arev.verify"))), err);
  }
}

document.addEventListener("case-loaded", (ev) => show(ev.detail).catch((err) => console.error(err)));
