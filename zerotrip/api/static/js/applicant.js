// The applicant's page, opened from their personal link: what to do now ("下一步"), progress,
// deadline, materials and the delivery address. Photo capture, live inspection and courier
// orders hook in through the "case-loaded" event and the #extensions container; any section
// that changes the case sends "case-changed" and the page reloads the case.
import { api, useApplicantToken } from "./api.js";
import { initPage } from "./common.js";
import { $, fmtDate, h, showError, stateBadge } from "./dom.js";
import { addStrings, lang, pick, t } from "./i18n.js";
import { renderAddress } from "./applicant-address.js";
import { renderMaterials } from "./applicant-materials.js";
import { renderTasks } from "./applicant-tasks.js";

addStrings({
  "link.invalid": ["这个链接打不开", "This link does not open"],
  "link.advice.401": ["链接不完整或已被作废。请打开办理单位短信或邮件中最新的链接；链接丢失时，请致电办理窗口重新发送。", "The link is incomplete or was revoked. Open the latest link in the office's text or email; if you lost it, call the office to send a new one."],
  "link.advice.410": ["链接已过期。请致电办理窗口，工作人员会给您发送新的链接。", "The link has expired. Call the office and they will send you a new one."],
  "link.advice.other": ["暂时无法读取办件，请稍后刷新重试。", "The case cannot be read right now; please reload in a moment."],
});

const token = decodeURIComponent(location.pathname.split("/").pop());
useApplicantToken(token);
initPage();

const PATH = ["submitted", "accepted", "inspecting", "inspected", "approved", "certificate_issued", "delivered", "closed"];

function renderSteps(c) {
  const at = c.state === "rectifying" ? PATH.indexOf("inspecting") : c.state === "returned" ? 0 : PATH.indexOf(c.state);
  $("#steps").replaceChildren(...PATH.map((s, i) => h("li", { class: i < at ? "done" : i === at ? "current" : "" }, t(`state.${s}`))));
}

/** A link that does not open: say so plainly, with what to do, and show no empty sections. */
function linkProblem(err) {
  for (const el of document.querySelectorAll("main > :not(#case-error)")) el.classList.add("hidden");
  const advice = err.status === 401 || err.status === 404 ? "401" : err.status === 410 ? "410" : "other";
  const box = $("#case-error");
  box.replaceChildren(h("h2", {}, advice === "other" ? t("link.advice.other") : t("link.invalid")), advice === "other" ? "" : h("p", {}, t(`link.advice.${advice}`)));
  box.classList.remove("hidden");
}

async function load() {
  let c;
  try {
    const link = await api("GET", "/api/link");
    c = await api("GET", `/api/cases/${link.case_id}`);
  } catch (err) {
    linkProblem(err);
    return;
  }
  try {
    $("#summary").replaceChildren(
      h("h2", {}, pick(c.matter, "name")),
      h("p", {}, h("span", { class: "mono", id: "reference" }, c.reference), " ", stateBadge(c.state)),
      h("p", {}, c.premises_address),
      c.deadline ? h("p", {}, `${t("applicant.deadline")}${lang === "zh" ? "：" : ": "}`, h("strong", { id: "deadline" }, fmtDate(c.deadline))) : "",
    );
    renderTasks(c);
    renderSteps(c);
    const returned = $("#returned");
    returned.classList.toggle("hidden", c.state !== "returned");
    if (c.state === "returned") returned.replaceChildren(h("p", {}, t("applicant.returned")), h("ul", {}, ...c.return_reasons.map((r) => h("li", {}, r))));
    renderAddress(c);
    await renderMaterials(c);
    const mine = c.allowed_actions.filter((a) => ["resubmit", "withdraw", "resume_inspection"].includes(a.name));
    $("#actions").classList.toggle("hidden", !mine.length);
    $("#actions").replaceChildren(...mine.map((a) => h("button", { class: a.name === "withdraw" ? "danger" : "", dataset: { action: a.name }, onclick: async () => {
      if (a.name === "withdraw" && !confirm(t("applicant.confirm_withdraw"))) return;
      try { await api("POST", `/api/cases/${c.id}/actions/${a.name}`, {}); await load(); } catch (err) { showError("#case-error", err); }
    } }, a.name === "resubmit" ? t("applicant.resubmit") : a.name === "withdraw" ? t("applicant.withdraw") : (lang === "zh" ? a.title_zh : a.title_en))));
  } catch (err) {
    showError("#case-error", err);
  }
  document.dispatchEvent(new CustomEvent("case-loaded", { detail: c }));
}

document.addEventListener("case-changed", () => load());
load();
