// The inspector's review on the staff case page: each checkpoint's evidence by round side by
// side (old and new during rectification), the annotation editor, verdicts with the evidence they
// rest on, the signed report and the certificate with its public check and revocation.
import { api } from "./api.js";
import { openAnnotator } from "./annotator.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";
import { jobProgress, runJob } from "./jobs.js";

addStrings({
  "rev.title": ["审查与结论", "Review and verdicts"],
  "rev.round": ["第 {n} 轮", "Round {n}"],
  "rev.no_evidence": ["尚无证据", "No evidence yet"],
  "rev.annotate": ["标注", "Annotate"],
  "rev.give": ["给出结论", "Give verdict"],
  "rev.comment": ["意见（不通过或整改时必填）", "Comment (required for fail or rectify)"],
  "rev.rests_on": ["依据的证据", "Evidence it rests on"],
  "trust.consistent": ["与申请一致", "consistent"],
  "trust.needs_review": ["待人工核对", "needs review"],
  "trust.inconsistent": ["与申请不一致", "inconsistent"],
  "rev.override": ["采信理由：#{id} 未通过可信度检查，依据它须写明理由", "Why you rely on #{id}: it did not pass the trust checks, so a written reason is required"],
  "rev.history": ["历次结论", "Earlier verdicts"],
  "rev.report": ["踏勘报告", "Inspection report"],
  "rev.sign": ["签署报告", "Sign report"],
  "rev.download": ["下载报告", "Download report"],
  "rev.signed": ["已签署", "Signed"],
  "rev.head": ["审计链头", "Audit head"],
  "rev.certificates": ["证照", "Certificates"],
  "rev.verify": ["公开核验页", "Public check"],
  "rev.revoke": ["撤销证照", "Revoke"],
  "rev.revoke_reason": ["撤销原因", "Reason for revocation"],
  "rev.revoked": ["已撤销", "Revoked"],
  "rev.restricted": ["身份类（受限）", "identity (restricted)"],
  "rev.sha": ["SHA-256", "SHA-256"],
  "rev.see_photo": ["查看照片 #{id}", "View photo #{id}"],
  "rev.kind.video": ["视频", "video"],
  "rev.kind.recording": ["录像", "recording"],
  "rev.kind.still": ["截图", "still"],
  "rev.kind.photo": ["照片", "photo"],
});

const SIGNABLE = ["rectifying", "inspected", "approved", "rejected", "certificate_issued", "delivered"];
let me = null;

function section() {
  let box = $("#review");
  if (!box) {
    box = h("div", { class: "card", id: "review" });
    $("#extensions").append(box);
  }
  return box;
}

function shot(ev, c, reload) {
  const isImage = ev.kind === "photo" || ev.kind === "still";
  const canDraw = isImage && ["inspector", "admin"].includes(me?.role);
  return h("div", { class: "shot", dataset: { evidence: ev.id, round: ev.round } },
    // A photo is shown once on the page: the evidence grid shows it as received; here only the
    // annotated copy appears, and an unannotated photo is a link that opens the grid's view.
    isImage && ev.annotation_version ? h("img", { src: `/api/review/evidence/${ev.id}/annotated?version=${ev.annotation_version}`, alt: `#${ev.id}`, loading: "lazy" })
      : isImage ? h("button", { type: "button", class: "link shot-ref", onclick: () => document.querySelector(`.ev-tile[data-evidence="${ev.id}"]`)?.click() }, t("rev.see_photo").replace("{id}", ev.id))
      : h("div", { class: "muted" }, t(`rev.kind.${ev.kind}`)),
    h("div", {}, `#${ev.id} · ${fmtTime(ev.received_at)}`, ev.restricted ? h("span", { class: "badge warn" }, t("rev.restricted")) : null,
      ev.trust ? h("span", { class: `badge ${ev.trust === "consistent" ? "ok" : "warn"}`, dataset: { trust: ev.trust } }, t(`trust.${ev.trust}`)) : null),
    h("div", { class: "mono", title: ev.sha256 }, `${t("rev.sha")} ${ev.sha256.slice(0, 16)}…`),
    canDraw ? h("button", { type: "button", class: "secondary", dataset: { annotate: ev.id }, onclick: () => openAnnotator({ evidenceId: ev.id, title: `#${ev.id}`, onSaved: reload }) }, t("rev.annotate")) : null);
}

function verdictForm(cp, c, reload) {
  const err = h("div", { class: "error hidden", role: "alert", style: "grid-column: 1 / -1" });
  const current = cp.evidence.filter((e) => e.round === cp.round);
  // Evidence the trust checks did not find consistent may be relied on only with a written reason.
  const doubtful = cp.evidence.filter((e) => e.trust !== "consistent");
  const reasonFields = doubtful.map((e) => h("label", { class: "override", dataset: { overrideFor: e.id }, style: "grid-column: 1 / -1" },
    t("rev.override").replace("{id}", e.id),
    h("textarea", { name: `override-${e.id}`, rows: 2, maxlength: 2000 })));
  const form = h("form", { class: "verdict-form", dataset: { verdictFor: cp.id } },
    h("select", { name: "verdict", "aria-label": t("form.result") }, ...["pass", "fail", "rectify"].map((v) => h("option", { value: v }, t(`form.${v}`)))),
    h("textarea", { name: "comment", rows: 2, maxlength: 4000, placeholder: t("rev.comment"), "aria-label": t("rev.comment") }),
    h("button", { type: "submit" }, t("rev.give")),
    cp.evidence.length ? h("div", { style: "grid-column: 1 / -1" }, h("span", { class: "muted" }, `${t("rev.rests_on")}: `),
      ...cp.evidence.map((e) => h("label", { style: "display:inline; margin-right:10px" }, h("input", { type: "checkbox", name: "evidence", value: e.id, checked: current.includes(e), style: "width:auto" }), ` #${e.id}`))) : null,
    ...reasonFields,
    err);
  const showReasons = () => {
    const chosen = new Set(new FormData(form).getAll("evidence").map(Number));
    for (const field of reasonFields) field.classList.toggle("hidden", !chosen.has(Number(field.dataset.overrideFor)));
  };
  form.addEventListener("change", showReasons);
  showReasons();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    try {
      const evidenceIds = fd.getAll("evidence").map(Number);
      const overrides = doubtful.filter((e) => evidenceIds.includes(e.id) && String(fd.get(`override-${e.id}`) || "").trim())
        .map((e) => ({ evidence_id: e.id, reason: String(fd.get(`override-${e.id}`)).trim() }));
      await api("POST", `/api/cases/${c.id}/checkpoints/${cp.id}/verdict`, { verdict: fd.get("verdict"), comment: fd.get("comment"), evidence_ids: evidenceIds, overrides });
      location.reload();
    } catch (e) {
      showError(err, e);
    }
  });
  return form;
}

function checkpointBlock(cp, c, reload) {
  const rounds = [...new Set([...cp.evidence.map((e) => e.round), cp.round])].sort();
  const inspecting = c.state === "inspecting" && ["inspector", "admin"].includes(me?.role);
  return h("div", { class: "review-cp", dataset: { reviewCheckpoint: cp.code } },
    h("strong", {}, `${cp.position + 1}. ${pick(cp, "title")}`), " ",
    cp.verdict ? h("span", { class: `badge ${cp.verdict === "pass" ? "ok" : "bad"}` }, t(`form.${cp.verdict}`)) : null,
    cp.round > 1 ? h("span", { class: "badge warn" }, t("rev.round").replace("{n}", cp.round)) : null,
    h("div", { class: "rounds" }, ...rounds.map((r) => h("div", { class: "round", dataset: { round: r } },
      h("h4", {}, t("rev.round").replace("{n}", r)),
      h("div", { class: "shots" }, ...cp.evidence.filter((e) => e.round === r).map((e) => shot(e, c, reload))),
      cp.evidence.some((e) => e.round === r) ? null : h("p", { class: "muted" }, t("rev.no_evidence"))))),
    inspecting ? verdictForm(cp, c, reload) : null,
    cp.history.length ? h("ol", { class: "history", title: t("rev.history") }, ...cp.history.map((x) => h("li", {}, `${t("rev.round").replace("{n}", x.round)} · ${t(`form.${x.verdict}`)} · ${fmtTime(x.given_at)}${x.comment ? ` · ${x.comment}` : ""}${x.evidence_ids.length ? ` · #${x.evidence_ids.join(", #")}` : ""}`))) : null);
}

function reportBlock(review, c) {
  const err = h("div", { class: "error hidden", role: "alert" });
  const canSign = SIGNABLE.includes(c.state) && ["inspector", "admin"].includes(me?.role);
  const r = review.report;
  const signing = jobProgress("sign-progress");
  return h("div", { class: "review-cp", id: "report-block" },
    h("h3", {}, t("rev.report")),
    r ? h("p", {}, `${t("rev.signed")} v${r.version} · ${r.signed_by} · ${fmtTime(r.signed_at)} `,
      h("a", { href: `/api/cases/${c.id}/report`, id: "report-link" }, t("rev.download")),
      h("div", { class: "mono" }, `${t("rev.head")} ${r.audit_head}`)) : null,
    canSign ? h("button", { type: "button", id: "sign-report", onclick: async (ev) => {
      ev.target.disabled = true;
      // Signing runs as a job on a worker: show how far it got, then the signed report.
      try { await runJob(`/api/cases/${c.id}/report`, signing.update); location.reload(); } catch (e) { showError(err, e); ev.target.disabled = false; }
    } }, t("rev.sign")) : null,
    signing.box,
    err);
}

function certificateBlock(review) {
  if (!review.certificates.length) return null;
  const canRevoke = ["clerk", "admin"].includes(me?.role);
  return h("div", { class: "review-cp", id: "certificates" },
    h("h3", {}, t("rev.certificates")),
    ...review.certificates.map((cert) => {
      const err = h("div", { class: "error hidden", role: "alert" });
      const reason = h("input", { type: "text", maxlength: 2000, placeholder: t("rev.revoke_reason"), "aria-label": t("rev.revoke_reason") });
      return h("div", { dataset: { certificate: cert.code } },
        h("span", { class: "mono" }, cert.code), " ",
        cert.revoked_at ? h("span", { class: "badge bad" }, `${t("rev.revoked")} ${fmtTime(cert.revoked_at)}`) : null, " ",
        h("a", { href: `/verify/${cert.code}`, target: "_blank", rel: "noopener" }, t("rev.verify")), " · ",
        h("a", { href: `/api/cases/${review.case_id}/certificate` }, "PDF"),
        canRevoke && !cert.revoked_at ? h("div", { class: "row" }, reason, h("button", { type: "button", class: "danger", onclick: async () => {
          try { await api("POST", `/api/certificates/${cert.code}/revoke`, { reason: reason.value }); location.reload(); } catch (e) { showError(err, e); }
        } }, t("rev.revoke"))) : null,
        err);
    }));
}

async function show(c) {
  const box = section();
  const reload = () => show(c);
  try {
    me = me || (await api("GET", "/api/me")).user;
    const review = await api("GET", `/api/cases/${c.id}/review`);
    box.replaceChildren(h("h2", {}, t("rev.title")),
      ...review.checkpoints.map((cp) => checkpointBlock(cp, c, reload)),
      reportBlock(review, c), certificateBlock(review) || "");
  } catch (err) {
    box.replaceChildren(h("h2", {}, t("rev.title")), h("div", { class: "error" }, err.message));
  }
}

document.addEventListener("case-loaded", (ev) => show(ev.detail));
