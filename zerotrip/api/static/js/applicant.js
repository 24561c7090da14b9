// The applicant's page, opened from their personal link: progress, deadline, materials, and the
// steps they can take. Photo capture, live inspection and courier orders hook in through the
// "case-loaded" event and the #extensions container.
import { api, useApplicantToken } from "./api.js";
import { initPage } from "./common.js";
import { $, fmtDate, h, showError, stateBadge } from "./dom.js";
import { lang, pick, t } from "./i18n.js";

const token = decodeURIComponent(location.pathname.split("/").pop());
useApplicantToken(token);
initPage();

const PATH = ["submitted", "accepted", "inspecting", "inspected", "approved", "certificate_issued", "delivered", "closed"];

function renderSteps(c) {
  const at = c.state === "rectifying" ? PATH.indexOf("inspecting") : c.state === "returned" ? 0 : PATH.indexOf(c.state);
  $("#steps").replaceChildren(...PATH.map((s, i) => h("li", { class: i < at ? "done" : i === at ? "current" : "" }, t(`state.${s}`))));
}

async function load() {
  try {
    const link = await api("GET", "/api/link");
    const c = await api("GET", `/api/cases/${link.case_id}`);
    $("#summary").replaceChildren(
      h("h2", {}, pick(c.matter, "name")),
      h("p", {}, h("span", { class: "mono", id: "reference" }, c.reference), " ", stateBadge(c.state)),
      h("p", {}, c.premises_address),
      c.deadline ? h("p", {}, `${t("applicant.deadline")}: `, h("strong", { id: "deadline" }, fmtDate(c.deadline))) : "",
    );
    renderSteps(c);
    const returned = $("#returned");
    returned.classList.toggle("hidden", c.state !== "returned");
    if (c.state === "returned") returned.replaceChildren(h("p", {}, t("applicant.returned")), h("ul", {}, ...c.return_reasons.map((r) => h("li", {}, r))));
    $("#materials").replaceChildren(...c.materials.map((m) => h("p", { dataset: { material: m.code } },
      pick(m, "name"), " ", h("span", { class: `badge ${m.status === "received" ? "ok" : m.status === "outstanding" ? "warn" : ""}` }, t(`status.${m.status}`)),
      m.due_date ? h("span", { class: "muted" }, ` ${t("applicant.due")} ${fmtDate(m.due_date)}`) : null)));
    const mine = c.allowed_actions.filter((a) => ["resubmit", "withdraw", "resume_inspection"].includes(a.name));
    $("#actions").classList.toggle("hidden", !mine.length);
    $("#actions").replaceChildren(...mine.map((a) => h("button", { class: a.name === "withdraw" ? "danger" : "", dataset: { action: a.name }, onclick: async () => {
      if (a.name === "withdraw" && !confirm(t("applicant.confirm_withdraw"))) return;
      try { await api("POST", `/api/cases/${c.id}/actions/${a.name}`, {}); await load(); } catch (err) { showError("#case-error", err); }
    } }, a.name === "resubmit" ? t("applicant.resubmit") : a.name === "withdraw" ? t("applicant.withdraw") : (lang === "zh" ? a.title_zh : a.title_en))));
    document.dispatchEvent(new CustomEvent("case-loaded", { detail: c }));
  } catch (err) {
    showError("#case-error", err.status === 401 || err.status === 410 ? `${t("applicant.link_problem")}: ${err.message}` : err);
  }
}

load();
