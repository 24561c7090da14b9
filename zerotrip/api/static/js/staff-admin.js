// The administration page: tabs for staff accounts, departments, the office profile, the
// working calendar, the matters catalogue and the change log. Everything here is admin-only.
import { api } from "./api.js";
import { initStaffPage } from "./common.js";
import { change, checkedIds, deptChecks, deptName, dialog, field, loadDepartments, notice, shared } from "./admin-common.js";
import { showCalendar, showEvents, showOffice } from "./admin-setup.js";
import { showMatters } from "./admin-matters.js";
import { $, h } from "./dom.js";
import { pick, t } from "./i18n.js";

const ROLES = ["clerk", "inspector", "admin"];
const me = await initStaffPage();
document.title = `${t("admin.title")} · zerotrip`;

function roleSelect(value) {
  return h("select", { name: "role" }, ...ROLES.map((r) => h("option", { value: r, selected: r === value }, t(`role.${r}`))));
}

async function showStaff() {
  const panel = $("#tab-staff");
  const users = (await api("GET", "/api/admin/staff")).items;
  const form = h("form", { class: "card", id: "new-staff" },
    h("h2", {}, t("staff.new")),
    h("div", { class: "grid3" },
      field(t("staff.username"), h("input", { name: "username", required: true, autocomplete: "off" })),
      field(t("staff.name"), h("input", { name: "display_name", required: true })),
      field(t("staff.role"), roleSelect("clerk")),
      field(t("staff.password"), h("input", { name: "password", type: "text", required: true, autocomplete: "new-password" }))),
    h("label", {}, t("staff.departments")), deptChecks("departments"),
    h("p", {}, h("button", { type: "submit" }, t("admin.add"))));
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const body = { username: data.username, display_name: data.display_name, role: data.role, password: data.password, departments: checkedIds(form, "departments") };
    change(() => api("POST", "/api/admin/staff", body), async () => { await showStaff(); notice(t("staff.created")); });
  };
  const rows = users.map((u) => h("tr", { dataset: { user: u.username }, class: u.active ? "" : "muted" },
    h("td", { class: "mono kind" }, u.username),
    h("td", {}, u.display_name),
    h("td", { class: "nowrap" }, t(`role.${u.role}`)),
    h("td", {}, u.role === "admin" ? t("staff.all_departments") : (u.departments.map(deptName).join("、") || t("staff.no_department"))),
    h("td", { class: "nowrap" }, h("span", { class: `badge ${u.active ? "ok" : "bad"}` }, t(u.active ? "staff.active" : "staff.disabled")),
      u.must_change_password && u.active ? h("div", {}, h("span", { class: "badge warn" }, t("staff.must_change"))) : null),
    h("td", { class: "actions-cell" },
      h("button", { class: "secondary", onclick: () => editStaff(u) }, t("admin.edit")),
      h("button", { class: "secondary", dataset: { act: "reset" }, onclick: () => resetPassword(u) }, t("staff.reset")),
      u.id === me.id ? null : h("button", { class: u.active ? "danger" : "secondary", dataset: { act: u.active ? "disable" : "enable" },
        onclick: () => change(() => api("PUT", `/api/admin/staff/${u.id}`, { active: !u.active }), showStaff) }, t(u.active ? "staff.disable" : "staff.enable")))));
  panel.replaceChildren(form, h("div", { class: "card" }, h("table", { id: "staff-table" },
    h("thead", {}, h("tr", {}, ...["staff.username", "staff.name", "staff.role", "staff.departments", "staff.state", "admin.actions"].map((k) => h("th", {}, t(k))))),
    h("tbody", {}, ...rows))));
}

function editStaff(u) {
  const body = h("div", {},
    field(t("staff.name"), h("input", { name: "display_name", value: u.display_name, required: true })),
    field(t("staff.role"), roleSelect(u.role)),
    h("label", {}, t("staff.departments")), deptChecks("departments", u.departments));
  dialog(`${t("admin.edit")} · ${u.username}`, body, async (form) => {
    const data = Object.fromEntries(new FormData(form));
    await api("PUT", `/api/admin/staff/${u.id}`, { display_name: data.display_name, role: data.role, departments: checkedIds(form, "departments") });
    await showStaff();
    notice(t("admin.saved"));
  });
}

async function resetPassword(u) {
  const done = await change(() => api("POST", `/api/admin/staff/${u.id}/password-reset`));
  if (!done) return;
  await showStaff();
  notice(`${u.display_name}（${u.username}）${t("staff.reset_done")} `, h("span", { class: "one-time", id: "one-time-password" }, done.password));
}

async function showDepartments() {
  const panel = $("#tab-departments");
  const [users, matters] = await Promise.all([api("GET", "/api/admin/staff"), api("GET", "/api/admin/matters")]);
  const form = h("form", { class: "card row", id: "new-department" },
    field(t("dept.code"), h("input", { name: "code", required: true, autocomplete: "off" })),
    field(t("dept.name_zh"), h("input", { name: "name_zh", required: true })),
    field(t("dept.name_en"), h("input", { name: "name_en" })),
    h("button", { type: "submit" }, t("admin.add")));
  form.onsubmit = (ev) => {
    ev.preventDefault();
    change(() => api("POST", "/api/admin/departments", Object.fromEntries(new FormData(form))), async () => { await loadDepartments(); await showDepartments(); notice(t("admin.saved")); });
  };
  const rows = shared.departments.map((d) => {
    const zh = h("input", { value: d.name_zh, "aria-label": t("dept.name_zh") });
    const en = h("input", { value: d.name_en, "aria-label": t("dept.name_en") });
    const save = (extra) => change(() => api("PUT", `/api/admin/departments/${d.id}`, { name_zh: zh.value.trim(), name_en: en.value.trim(), ...extra }), async () => { await loadDepartments(); await showDepartments(); notice(t("admin.saved")); });
    return h("tr", { dataset: { department: d.code }, class: d.active ? "" : "muted" },
      h("td", { class: "mono kind" }, d.code), h("td", {}, zh), h("td", {}, en),
      h("td", {}, String(users.items.filter((u) => u.departments.includes(d.id)).length)),
      h("td", {}, matters.items.filter((m) => m.department_id === d.id).map((m) => pick(m, "name")).join("、") || "—"),
      h("td", { class: "actions-cell" }, h("button", { class: "secondary", onclick: () => save({}) }, t("admin.save")),
        h("button", { class: "secondary", onclick: () => save({ active: !d.active }) }, t(d.active ? "staff.disable" : "staff.enable"))));
  });
  panel.replaceChildren(form, h("div", { class: "card" },
    h("p", { class: "muted" }, t("dept.count").replace("{n}", shared.departments.length)),
    h("table", { id: "departments-table" },
      h("thead", {}, h("tr", {}, ...["dept.code", "dept.name_zh", "dept.name_en", "dept.members", "dept.matters", "admin.actions"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, ...rows))));
}

const TABS = { staff: showStaff, departments: showDepartments, office: showOffice, calendar: showCalendar, matters: showMatters, events: showEvents };

async function openTab() {
  const name = TABS[location.hash.slice(1)] ? location.hash.slice(1) : "staff";
  for (const a of document.querySelectorAll("nav.tabs a")) a.setAttribute("aria-selected", String(a.dataset.tab === name));
  for (const s of document.querySelectorAll("section.tab")) s.classList.toggle("shown", s.id === `tab-${name}`);
  notice("");
  await change(() => TABS[name]());
  document.body.dataset.tab = name;  // tests and people alike: the tab has drawn
}

window.addEventListener("hashchange", openTab);
await loadDepartments();
openTab();
