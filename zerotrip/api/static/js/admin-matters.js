// Administration tab for the matters catalogue: the owning department, offered or withdrawn,
// and editing the time limit, materials and checklist as a new version.
import { api } from "./api.js";
import { change, dialog, field, notice, shared } from "./admin-common.js";
import { $, h } from "./dom.js";
import { pick, t } from "./i18n.js";

const MATERIAL_TEXT = ["code", "name_zh", "name_en"];
const MATERIAL_FLAGS = ["required", "critical", "paper_original"];
const CHECK_TEXT = ["code", "title_zh", "title_en", "guidance_zh"];
const LABEL = { code: "matter.code", name_zh: "matter.title_zh", name_en: "matter.title_en", title_zh: "matter.title_zh", title_en: "matter.title_en", guidance_zh: "matter.guidance_zh", required: "matter.required", critical: "matter.critical", paper_original: "matter.paper", restricted: "matter.restricted" };

function deptSelect(m) {
  const sel = h("select", { "aria-label": t("matter.department"), dataset: { matter: m.code } },
    h("option", { value: "" }, t("admin.none")),
    ...shared.departments.filter((d) => d.active || d.id === m.department_id).map((d) => h("option", { value: d.id, selected: d.id === m.department_id }, pick(d, "name") || d.name_zh)));
  sel.onchange = () => change(() => api("PUT", `/api/admin/matters/${m.code}`, { department_id: sel.value ? Number(sel.value) : null }), async () => { await showMatters(); notice(t("admin.saved")); });
  return sel;
}

export async function showMatters() {
  const matters = (await api("GET", "/api/admin/matters")).items;
  const rows = matters.map((m) => h("tr", { dataset: { matter: m.code }, class: m.enabled ? "" : "muted" },
    h("td", {}, h("strong", {}, pick(m, "name"))),
    h("td", {}, deptSelect(m)),
    h("td", { class: "nowrap" }, h("span", { class: `badge ${m.enabled ? "ok" : "bad"}` }, t(m.enabled ? "matter.on" : "matter.off"))),
    h("td", { class: "nowrap" }, String(m.time_limit_working_days)),
    h("td", { class: "nowrap" }, m.version ? `V${m.version}` : t("matter.shipped")),
    h("td", {}, `${m.materials.length} / ${m.checklist.length}`),
    h("td", { class: "actions-cell" },
      h("button", { class: "secondary", onclick: () => editMatter(m) }, t("admin.edit")),
      h("button", { class: m.enabled ? "danger" : "secondary", dataset: { act: m.enabled ? "withdraw" : "offer" }, onclick: () => change(() => api("PUT", `/api/admin/matters/${m.code}`, { enabled: !m.enabled }), showMatters) }, t(m.enabled ? "matter.withdraw" : "matter.offer")))));
  $("#tab-matters").replaceChildren(h("div", { class: "card" }, h("table", { id: "matters-table" },
    h("thead", {}, h("tr", {}, ...["matter.name", "matter.department", "matter.enabled", "matter.limit", "matter.version", "matter.materials"].map((k) => h("th", {}, k === "matter.materials" ? `${t(k)} / ${t("matter.checklist")}` : t(k))), h("th", {}, t("admin.actions")))),
    h("tbody", {}, ...rows))));
}

function rowEditor(item, text, flags) {
  const tr = h("tr", {},
    ...text.map((k) => h("td", {}, h("input", { type: "text", name: k, value: item[k] ?? "", "aria-label": t(LABEL[k]), required: k !== "guidance_zh" }))),
    ...flags.map((k) => h("td", {}, h("input", { type: "checkbox", name: k, checked: !!item[k], "aria-label": t(LABEL[k]) }))),
    h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => tr.remove() }, t("matter.remove_row"))));
  tr.keep = item;  // what the editor does not show (English guidance) stays as it was
  return tr;
}

function listEditor(items, text, flags, blank) {
  const body = h("tbody", {}, ...items.map((i) => rowEditor(i, text, flags)));
  const table = h("table", {}, h("thead", {}, h("tr", {}, ...[...text, ...flags].map((k) => h("th", {}, t(LABEL[k]))), h("th", {}))), body);
  return { el: h("div", {}, table, h("button", { type: "button", class: "secondary", onclick: () => body.append(rowEditor(blank, text, flags)) }, t("matter.add_row"))), body };
}

function readRows(body, text, flags) {
  return [...body.querySelectorAll("tr")].map((tr) => {
    const item = { ...tr.keep };
    for (const k of text) item[k] = tr.querySelector(`[name="${k}"]`).value.trim();
    for (const k of flags) item[k] = tr.querySelector(`[name="${k}"]`).checked;
    return item;
  });
}

function editMatter(m) {
  const limit = h("input", { class: "short", type: "number", min: 1, max: 365, value: m.time_limit_working_days, name: "limit" });
  const materials = listEditor(m.materials, MATERIAL_TEXT, MATERIAL_FLAGS, { required: true });
  const checklist = listEditor(m.checklist, CHECK_TEXT, ["restricted"], {});
  const note = h("input", { name: "note", maxlength: 500 });
  const body = h("div", { class: "editor" },
    h("p", { class: "notice" }, t("matter.version_hint")),
    field(t("matter.limit"), limit),
    h("h3", {}, t("matter.materials")), materials.el,
    h("h3", {}, t("matter.checklist")), checklist.el,
    field(t("matter.note"), note));
  dialog(`${pick(m, "name")} · ${t("matter.save_version")}`, body, async () => {
    await api("POST", `/api/admin/matters/${m.code}/versions`, {
      time_limit_working_days: Number(limit.value),
      materials: readRows(materials.body, MATERIAL_TEXT, MATERIAL_FLAGS),
      checklist: readRows(checklist.body, CHECK_TEXT, ["restricted"]),
      note: note.value.trim(),
    });
    await showMatters();
    notice(t("admin.saved"));
  }, { wide: true });
}
