// What the administration tabs share: the departments, notices and errors, and form fields.
import "./admin-strings.js";
import { api } from "./api.js";
import { $, clearError, h, showError } from "./dom.js";
import { pick, t } from "./i18n.js";

export const shared = { departments: [] };

export async function loadDepartments() {
  shared.departments = (await api("GET", "/api/departments")).items;
  return shared.departments;
}

export function deptName(id) {
  const d = shared.departments.find((x) => x.id === id);
  return d ? pick(d, "name") || d.name_zh : "";
}

export function notice(text, ...extra) {
  clearError("#admin-error");
  const box = $("#admin-notice");
  box.replaceChildren(text, ...extra);
  box.classList.toggle("hidden", !text);
}

export function fail(err) {
  notice("");
  const problem = err?.problem;
  const fields = (problem?.errors || []).map((e) => e.field).filter(Boolean);
  showError("#admin-error", { message: `${err.message}${fields.length ? `（${fields.join("、")}）` : ""}` });
  $("#admin-error").scrollIntoView({ block: "nearest" });
}

/** Run an API change; a problem shows on the page, never as an unhandled error. */
export async function change(work, done) {
  try {
    const result = await work();
    if (done) await done(result);
    return result;
  } catch (err) {
    fail(err);
    return null;
  }
}

export function field(label, input) {
  if (!input.id) input.id = `f-${Math.random().toString(36).slice(2, 9)}`;
  return h("div", {}, h("label", { for: input.id }, label), input);
}

export function deptChecks(name, chosen = []) {
  if (!shared.departments.length) return h("p", { class: "muted" }, t("admin.none"));
  return h("div", { class: "checks", dataset: { group: name } }, ...shared.departments.filter((d) => d.active || chosen.includes(d.id)).map((d) =>
    h("label", {}, h("input", { type: "checkbox", name, value: d.id, checked: chosen.includes(d.id) }), pick(d, "name") || d.name_zh)));
}

export function checkedIds(root, name) {
  return [...root.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => Number(i.value));
}

export function dialog(title, body, onSave, { wide = false } = {}) {
  const dlg = $("#admin-dialog");
  dlg.classList.toggle("wide", wide);
  const form = $("#admin-dialog-form");
  const err = h("div", { class: "error hidden", role: "alert" });
  form.replaceChildren(h("h2", {}, title), body, err,
    h("p", { class: "row" }, h("button", { type: "submit" }, t("admin.save")), h("button", { type: "button", class: "secondary", onclick: () => dlg.close() }, t("form.cancel"))));
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    try { await onSave(form); dlg.close(); } catch (e) { showError(err, e); }
  };
  dlg.showModal();
}
