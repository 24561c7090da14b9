// The staff view of one case: a header with the state, the deadline and the next actions, then
// sections 材料 / 踏勘 / 审查 / 邮寄 / 消息 / 办件轨迹. Other features (evidence, live sessions,
// review, mailing, messages) listen for the "case-loaded" event and add their cards inside
// #extensions; the page moves each card into its section.
import { api } from "./api.js";
import { renderTrail } from "./case-trail.js";
import { initStaffPage } from "./common.js";
import { $, clearError, clockBadge, fmtDate, fmtTime, h, showError, stateBadge } from "./dom.js";
import { addStrings, lang, pick, t } from "./i18n.js";

addStrings({
  "case.next": ["下一步", "Next"],
  "case.unavailable": ["该办件不存在，或不属于您所在的部门。请回到办件列表查找，或请管理员调整您的部门。", "This case does not exist or belongs to a department you are not in. Find it from the case list, or ask an administrator to change your departments."],
  "case.back": ["返回办件列表", "Back to the case list"],
  "sec.materials": ["材料", "Materials"],
  "sec.inspection": ["踏勘", "Inspection"],
  "sec.review": ["审查", "Review"],
  "sec.mailing": ["邮寄", "Mailing"],
  "sec.messages": ["消息", "Messages"],
  "sec.trail": ["办件轨迹", "Case trail"],
  "sec.empty": ["暂无", "Nothing yet"],
  "case.working_days": ["个工作日", "working days"],
  "case.call": ["拨打", "Call"],
});

// Which section each feature's card belongs to (a card may also say so with data-section).
const CARD_SECTION = { "evidence-grid": "inspection", "live-sessions": "inspection", review: "review", mailing: "mailing", "messages-card": "messages", "ratings-card": "messages" };
function placeCards() {
  for (const card of [...$("#extensions").children]) {
    const section = card.dataset.section || CARD_SECTION[card.id] || "materials";
    $(`#s-${section}`).append(card);
  }
}
new MutationObserver(placeCards).observe($("#extensions"), { childList: true });

const caseId = Number(location.pathname.split("/").pop());
let current = null;

await initStaffPage();
const fresh = new URLSearchParams(location.search).get("link");
if (fresh) showLink(fresh);

function showLink(url) {
  const box = $("#new-link");
  box.textContent = url;
  box.classList.remove("hidden");
}

function renderHead(c) {
  const limit = c.matter.time_limit_working_days;
  const fact = (label, ...value) => h("div", {}, h("span", { class: "label" }, label), ...value);
  $("#case-summary").replaceChildren(
    h("h2", {}, h("span", { class: "mono kind", id: "reference" }, c.reference), pick(c.matter, "name"), stateBadge(c.state)),
    h("div", { class: "summary-facts" },
      fact(t("case.applicant"), c.applicant_name, c.organisation ? ` · ${c.organisation}` : "", c.applicant_phone ? h("span", {}, " · ", h("a", { href: `tel:${c.applicant_phone.replace(/[^0-9+]/g, "")}` }, c.applicant_phone)) : null),
      fact(t("case.deadline"), h("span", { dataset: { deadline: c.deadline || "" } }, fmtDate(c.deadline)), " ", clockBadge(c.clock), limit ? h("span", { class: "muted" }, ` (${limit} ${t("case.working_days")})`) : null),
      fact(t("case.submitted"), `${fmtTime(c.submitted_at)} · ${t(`via.${c.submitted_via}`)}`),
      c.return_reasons.length ? fact(t("case.return_reasons"), c.return_reasons.join("；")) : null),
  );
  document.title = `${c.reference} · zerotrip`;
}

function renderApplicant(c) {
  const facts = [["apply.name", c.applicant_name], ["case.organisation", c.organisation], ["case.phone", c.applicant_phone], ["case.email", c.applicant_email], ["case.address", c.premises_address]];
  if (c.premises_lat != null) facts.push(["apply.lat", `${c.premises_lat}, ${c.premises_lon}`]);
  $("#applicant").replaceChildren(...facts.flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v || "—")]));
}

function renderMaterials(c) {
  $("#materials tbody").replaceChildren(...c.materials.map((m) => h("tr", { dataset: { material: m.code } },
    h("td", {}, pick(m, "name"), m.critical ? h("span", { class: "badge" }, lang === "zh" ? "关键" : "critical") : null, m.paper_original ? h("span", { class: "badge" }, lang === "zh" ? "需原件" : "paper original") : null),
    h("td", {}, h("span", { class: `badge ${m.status === "received" ? "ok" : m.status === "outstanding" ? "warn" : ""}` }, t(`status.${m.status}`))),
    h("td", { class: "muted" }, m.status === "outstanding" && m.due_date ? `${t("applicant.due")} ${fmtDate(m.due_date)}` : m.received_at ? fmtTime(m.received_at) : ""))));
}

// Each action's form: what it asks for, built from the case's current data.
function actionFields(name, c) {
  const today = new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });  // the office's today
  const note = () => [h("label", {}, t("form.note")), h("textarea", { name: "note", rows: 2 })];
  switch (name) {
    case "prereview": {
      const optional = c.materials.filter((m) => !m.critical);
      return [
        h("label", {}, t("form.outcome")),
        h("select", { name: "outcome", id: "pr-outcome" }, h("option", { value: "accept" }, t("form.accept")), h("option", { value: "return" }, t("form.return"))),
        h("label", {}, t("form.outstanding")),
        ...optional.map((m) => h("div", { class: "row" }, h("label", {}, h("input", { type: "checkbox", name: "outstanding", value: m.code, style: "width:auto" }), " ", pick(m, "name")), h("input", { type: "date", name: `due_${m.code}`, min: today }))),
        h("label", {}, t("form.reasons")), h("textarea", { name: "reasons", rows: 3 }),
        ...note(),
      ];
    }
    case "record_inspection":
      return [h("label", {}, t("form.result")), h("select", { name: "result" }, ...["pass", "fail", "rectify"].map((r) => h("option", { value: r }, t(`form.${r}`)))), h("label", {}, t("form.note")), h("textarea", { name: "comment", rows: 2 })];
    case "receive_materials":
      return [h("label", {}, t("form.codes")), ...c.materials.filter((m) => m.status !== "received").map((m) => h("label", {}, h("input", { type: "checkbox", name: "codes", value: m.code, style: "width:auto" }), " ", pick(m, "name"))),
        h("label", {}, t("form.channel")), h("select", { name: "channel" }, h("option", { value: "in_person" }, lang === "zh" ? "窗口/现场" : "In person"), h("option", { value: "courier" }, lang === "zh" ? "快递" : "Courier"), h("option", { value: "electronic" }, lang === "zh" ? "电子" : "Electronic")), ...note()];
    case "reject":
      return [h("label", {}, t("form.reasons")), h("textarea", { name: "reasons", rows: 3, required: true }), ...note()];
    case "mark_delivered":
      return [h("label", {}, t("form.method")), h("select", { name: "method" }, h("option", { value: "courier" }, lang === "zh" ? "快递送达" : "Courier"), h("option", { value: "self_collect" }, lang === "zh" ? "窗口自取" : "Self-collect"), h("option", { value: "electronic" }, lang === "zh" ? "电子证照" : "Electronic")), ...note()];
    default:
      return note();
  }
}

function collect(name, form) {
  const fd = new FormData(form);
  const lines = (v) => String(v || "").split("\n").map((s) => s.trim()).filter(Boolean);
  const body = {};
  if (fd.has("note")) body.note = fd.get("note");
  switch (name) {
    case "prereview":
      body.outcome = fd.get("outcome");
      body.reasons = lines(fd.get("reasons"));
      body.outstanding = fd.getAll("outstanding").map((code) => ({ code, due_date: fd.get(`due_${code}`) }));
      break;
    case "record_inspection":
      return { result: fd.get("result"), comment: fd.get("comment") };
    case "receive_materials":
      body.codes = fd.getAll("codes");
      body.channel = fd.get("channel");
      break;
    case "reject":
      body.reasons = lines(fd.get("reasons"));
      break;
    case "mark_delivered":
      body.method = fd.get("method");
      break;
  }
  return body;
}

function openAction(action, c) {
  const form = $("#action-form");
  const err = h("div", { class: "error hidden", role: "alert" });
  form.replaceChildren(
    h("h2", {}, lang === "zh" ? action.title_zh : action.title_en),
    ...actionFields(action.name, c),
    err,
    h("p", { class: "row" }, h("button", { type: "submit", id: "action-confirm" }, t("form.confirm")), h("button", { type: "button", class: "secondary", onclick: () => $("#action-dialog").close() }, t("form.cancel"))),
  );
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", `/api/cases/${caseId}/actions/${action.name}`, collect(action.name, form));
      $("#action-dialog").close();
      await load();
    } catch (e) {
      showError(err, e);
    }
  };
  $("#action-dialog").showModal();
}

function renderActions(c) {
  const box = $("#actions");
  if (!c.allowed_actions.length) {
    box.replaceChildren(h("p", { class: "muted" }, t("case.no_actions")));
    return;
  }
  box.replaceChildren(...c.allowed_actions.map((a) => h("button", { class: a.name === "reject" || a.name === "withdraw" ? "danger" : "", dataset: { action: a.name }, onclick: () => openAction(a, c) }, lang === "zh" ? a.title_zh : a.title_en)));
}

async function renderLinks() {
  const { items } = await api("GET", `/api/cases/${caseId}/links`);
  $("#links").replaceChildren(h("table", {}, h("tbody", {}, ...items.map((l) => h("tr", {},
    h("td", {}, `#${l.id}`), h("td", {}, fmtTime(l.created_at)), h("td", {}, `→ ${fmtTime(l.expires_at)}`),
    h("td", {}, l.revoked_at ? h("span", { class: "badge bad" }, lang === "zh" ? "已作废" : "revoked") : h("button", { class: "secondary", onclick: async () => { await api("DELETE", `/api/cases/${caseId}/links/${l.id}`); load(); } }, t("case.revoke"))))))));
}

async function load() {
  clearError("#case-error");
  try {
    current = await api("GET", `/api/cases/${caseId}`);
    renderHead(current);
    renderApplicant(current);
    renderActions(current);
    renderMaterials(current);
    await Promise.all([renderLinks(), renderTrail(current, $("#trail-card"))]);
    document.dispatchEvent(new CustomEvent("case-loaded", { detail: current }));
  } catch (err) {
    showError("#case-error", err);
    if (!current && err.status === 404) unavailable();
  }
}

// A case that cannot be opened (absent, or another department's) shows no empty case around the
// error: what it means and the way back.
function unavailable() {
  for (const el of document.querySelectorAll("main > :not(#case-error)")) el.classList.add("hidden");
  $("main").append(h("div", { class: "card", id: "case-unavailable" }, h("p", {}, t("case.unavailable")), h("p", {}, h("a", { href: "/staff/cases" }, t("case.back")))));
}

$("#issue-link").addEventListener("click", async () => {
  try {
    const res = await api("POST", `/api/cases/${caseId}/links`, {});
    showLink(res.applicant_link);
    await load();
  } catch (err) {
    showError("#action-error", err);
  }
});

// A section that changed the case (e.g. a hand-in decided) asks for the whole page again.
document.addEventListener("case-changed", () => load());

load();
