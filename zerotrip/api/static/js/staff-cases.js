import { api } from "./api.js";
import { initStaffPage } from "./common.js";
import { $, clearError, clockBadge, fmtDate, fmtTime, h, showError, stateBadge } from "./dom.js";
import { pick, t } from "./i18n.js";

const STATES = ["submitted", "returned", "accepted", "inspecting", "rectifying", "inspected", "approved", "rejected", "certificate_issued", "delivered", "closed", "withdrawn"];
const PAGE = 50;
// The list pages with cursors: ``pages[i]`` is the cursor that opens page i + 1 ("" the first).
let pages = [""];
let matters = {};

await initStaffPage();
const params = new URLSearchParams(location.search);
const stateSel = $("#f-state");
stateSel.append(h("option", { value: "" }, t("cases.all")), ...STATES.map((s) => h("option", { value: s }, t(`state.${s}`))));
stateSel.value = params.get("state") || "";
$("#f-due").value = params.get("due") || "";
$("#f-q").value = params.get("q") || "";
if (params.get("cursor")) pages = ["", params.get("cursor")];

const catalogue = await api("GET", "/api/matters?withdrawn=true");  // running cases of withdrawn matters too
matters = Object.fromEntries(catalogue.items.map((m) => [m.code, m]));

async function load() {
  clearError("#list-error");
  const q = new URLSearchParams();
  for (const [k, v] of [["state", stateSel.value], ["due", $("#f-due").value], ["q", $("#f-q").value.trim()]]) if (v) q.set(k, v);
  q.set("limit", PAGE);
  const cursor = pages[pages.length - 1];
  if (cursor) q.set("cursor", cursor);
  history.replaceState(null, "", `?${q}`);
  try {
    const page = await api("GET", `/api/cases?${q}`);
    next = page.next;
    const body = $("#cases tbody");
    body.replaceChildren(...page.items.map((c) => h("tr", { class: "clickable", dataset: { caseId: c.id }, onclick: () => { location.href = `/staff/cases/${c.id}`; } },
      h("td", { class: "mono" }, c.reference),
      h("td", {}, matters[c.matter_code] ? pick(matters[c.matter_code], "name") : c.matter_code),
      h("td", {}, c.applicant_name, c.organisation ? h("div", { class: "muted" }, c.organisation) : null),
      h("td", {}, c.premises_address),
      h("td", {}, stateBadge(c.state)),
      h("td", {}, fmtDate(c.deadline), " ", clockBadge(c.clock)),
      h("td", {}, fmtTime(c.updated_at)))));
    if (!page.items.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, t("cases.empty"))));
    $("#total").textContent = t("cases.page").replace("{n}", pages.length);
    $("#prev").disabled = pages.length === 1;
    $("#next").disabled = !next;
  } catch (err) {
    if (cursor) pages = [""]; // a stale or damaged cursor: the error says so; filters restart
    showError("#list-error", err);
  }
}

let next = null;
$("#filters").addEventListener("submit", (ev) => { ev.preventDefault(); pages = [""]; load(); });
$("#prev").addEventListener("click", () => { if (pages.length > 1) pages.pop(); load(); });
$("#next").addEventListener("click", () => { if (next) { pages.push(next); load(); } });

// A clerk files an application on the applicant's behalf (帮代办) and gets their link.
const FIELDS = [["applicant_name", "apply.name", "text", true], ["applicant_phone", "apply.phone", "tel"], ["applicant_email", "apply.email", "email"], ["organisation", "apply.organisation", "text"], ["premises_address", "apply.address", "text", true]];
$("#new-case").addEventListener("click", () => {
  const form = $("#new-case-form");
  const select = h("select", { name: "matter_code", id: "nc-matter" }, ...Object.values(matters).filter((m) => m.offered).map((m) => h("option", { value: m.code }, pick(m, "name"))));
  const err = h("div", { class: "error hidden" });
  form.replaceChildren(
    h("h2", {}, t("cases.new")),
    h("label", {}, t("apply.matter")), select,
    ...FIELDS.flatMap(([name, key, type, req]) => [h("label", {}, t(key)), h("input", { name, type, required: req, id: `nc-${name}` })]),
    err,
    h("p", { class: "row" }, h("button", { type: "submit", value: "ok" }, t("form.confirm")), h("button", { type: "button", class: "secondary", onclick: () => $("#new-case-dialog").close() }, t("form.cancel"))),
  );
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    for (const k of Object.keys(data)) if (data[k] === "") delete data[k];
    try {
      const res = await api("POST", "/api/cases", data);
      location.href = `/staff/cases/${res.case.id}?link=${encodeURIComponent(res.applicant_link)}`;
    } catch (e) {
      showError(err, e);
    }
  };
  $("#new-case-dialog").showModal();
});

load();
