// Dissatisfied ratings to answer: overdue first; staff record the reply and the follow-up call.
import "./office-strings.js";
import { api } from "./api.js";
import { initStaffPage } from "./common.js";
import { $, clearError, fmtDate, h, showError } from "./dom.js";
import { t } from "./i18n.js";

await initStaffPage();

function stateBadge(r) {
  const rc = r.rectification;
  if (rc.overdue) return h("span", { class: "badge bad" }, t("rect.overdue"));
  return h("span", { class: `badge ${rc.state === "done" ? "ok" : "warn"}` }, t(`rect.${rc.state}`));
}

function replyCell(r) {
  if (r.reply || r.rectification.state === "done") return h("div", {}, r.reply || "—");
  const input = h("textarea", { rows: 2, "aria-label": t("rect.reply") });
  return h("div", {}, input, h("button", { class: "secondary", onclick: () => change(`/api/ratings/${r.id}/reply`, { text: input.value.trim() }) }, t("rect.reply")));
}

function callCell(r) {
  const rc = r.rectification;
  if (rc.called_at) return h("div", {}, t(`rect.${rc.call_outcome}`), rc.call_note ? h("div", { class: "muted" }, rc.call_note) : null);
  if (rc.state === "done") return "—";
  const note = h("input", { "aria-label": t("rect.call"), placeholder: t("rect.call_note") });
  return h("div", {}, note,
    h("button", { class: "secondary", onclick: () => change(`/api/ratings/${r.id}/call`, { outcome: "reached", note: note.value.trim() }) }, t("rect.reached")), " ",
    h("button", { class: "secondary", onclick: () => change(`/api/ratings/${r.id}/call`, { outcome: "unreachable", note: note.value.trim() }) }, t("rect.unreachable")));
}

async function change(path, body) {
  try { await api("POST", path, body); await load(); } catch (err) { showError("#rect-error", err); }
}

async function load() {
  clearError("#rect-error");
  try {
    const page = await api("GET", `/api/rectifications?state=${$("#r-state").value}`);
    // The task is a phone call back: whom to call (name, number, case) comes first.
    const rows = page.items.map((r) => {
      const cb = r.call_back || {};
      const phone = cb.applicant_phone ? h("a", { class: "phone", href: `tel:${cb.applicant_phone.replace(/[^0-9+]/g, "")}` }, cb.applicant_phone) : h("span", { class: "muted" }, t("rect.no_phone"));
      return h("tr", { class: r.rectification.overdue ? "overdue" : "", dataset: { rating: r.id } },
        h("td", {}, h("a", { href: `/staff/cases/${r.case_id}`, class: "mono kind" }, cb.case_reference || `#${r.case_id}`)),
        h("td", {}, h("strong", {}, cb.applicant_name || "—"), h("div", {}, phone)),
        h("td", {}, h("strong", {}, t(`level.${r.level}`)), ` · ${t(`rate.step.${r.step}`)}`, r.comment ? h("div", { class: "muted" }, r.comment) : null),
        h("td", { class: "nowrap" }, cb.owner_name || t("rect.no_owner")),
        h("td", { class: "nowrap" }, fmtDate(r.rectification.due_date), h("div", {}, stateBadge(r))),
        h("td", {}, callCell(r)),
        h("td", {}, replyCell(r)));
    });
    $("#rectifications tbody").replaceChildren(...rows);
    if (!rows.length) $("#rectifications tbody").append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, t("rect.empty"))));
  } catch (err) {
    showError("#rect-error", err);
  }
}

$("#r-state").addEventListener("change", load);
load();
