// Administration tabs for the office itself: its profile, its working calendar, the change log.
import { api } from "./api.js";
import { change, dialog, field, notice, shared } from "./admin-common.js";
import { $, fmtTime, h } from "./dom.js";
import { lang, pick, t } from "./i18n.js";

const OFFICE_FIELDS = ["name", "street", "city", "state", "zip", "country", "phone"];

export async function showOffice() {
  const profile = await api("GET", "/api/admin/office");
  const inputs = Object.fromEntries(OFFICE_FIELDS.map((f) => [f, h("input", { name: f, value: profile[f] || "", required: f !== "state" })]));
  const form = h("form", { class: "card", id: "office-form" },
    h("h2", {}, t("admin.tab.office")),
    h("p", { class: "muted" }, t("office.hint")),
    field(t("office.name"), inputs.name),
    field(t("office.street"), inputs.street),
    h("div", { class: "grid3" }, field(t("office.state"), inputs.state), field(t("office.city"), inputs.city), field(t("office.zip"), inputs.zip)),
    h("div", { class: "grid3" }, field(t("office.phone"), inputs.phone), field(t("office.country"), inputs.country)),
    h("p", {}, h("button", { type: "submit" }, t("admin.save"))));
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(OFFICE_FIELDS.map((f) => [f, inputs[f].value.trim()]));
    change(() => api("PUT", "/api/admin/office", body), async () => { await showOffice(); notice(t("admin.saved")); });
  };
  $("#tab-office").replaceChildren(form);
}

function dayLabel(iso) {
  const d = new Date(`${iso}T00:00:00`);
  return d.toLocaleDateString(lang === "zh" ? "zh-CN" : "en-GB", { year: "numeric", month: "long", day: "numeric", weekday: "short" });
}

function kindSelect(value = "holiday") {
  return h("select", { name: "kind" }, ...["holiday", "workday"].map((k) => h("option", { value: k, selected: k === value }, t(`cal.${k}`))));
}

let calendarYear = null;

export async function showCalendar() {
  const today = new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });
  calendarYear = calendarYear || Number(today.slice(0, 4));
  const view = await api("GET", `/api/admin/calendar?year=${calendarYear}`);
  const year = h("select", { id: "cal-year", class: "short", "aria-label": t("cal.year") }, ...[-1, 0, 1, 2].map((o) => calendarYear + o).map((y) => h("option", { value: y, selected: y === calendarYear }, String(y))));
  year.onchange = () => { calendarYear = Number(year.value); change(showCalendar); };
  const prefill = h("button", { id: "cal-prefill", disabled: !view.published, onclick: () => change(() => api("POST", "/api/admin/calendar/prefill", { year: calendarYear }), async (r) => { await showCalendar(); notice(t("cal.prefilled").replace("{n}", r.added)); }) }, t("cal.prefill"));
  const day = h("input", { type: "date", name: "day", required: true, min: `${calendarYear}-01-01`, max: `${calendarYear}-12-31` });
  const add = h("form", { class: "row", id: "cal-add" }, field(t("cal.day"), day), field(t("cal.kind"), kindSelect()), field(t("cal.name"), h("input", { name: "name", maxlength: 100 })), h("button", { type: "submit" }, t("admin.save")));
  add.onsubmit = (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(add));
    change(() => api("PUT", `/api/admin/calendar/${data.day}`, { kind: data.kind, name: data.name.trim() }), async () => { await showCalendar(); notice(t("admin.saved")); });
  };
  const rows = view.days.map((d) => h("tr", { dataset: { day: d.day, kind: d.kind } },
    h("td", { class: "nowrap" }, dayLabel(d.day)),
    h("td", {}, h("span", { class: `badge ${d.kind === "holiday" ? "warn" : "ok"}` }, t(`cal.short.${d.kind}`))),
    h("td", {}, d.name || "—"),
    h("td", { class: "muted" }, t(`cal.source.${d.source}`)),
    h("td", { class: "actions-cell" },
      h("button", { class: "secondary", onclick: () => editDay(d) }, t("admin.edit")),
      h("button", { class: "secondary", onclick: () => change(() => api("DELETE", `/api/admin/calendar/${d.day}`), showCalendar) }, t("cal.remove")))));
  $("#tab-calendar").replaceChildren(
    h("div", { class: "card" },
      h("p", { class: "muted" }, t("cal.hint")),
      h("div", { class: "row" }, field(t("cal.year"), year), prefill),
      view.published ? null : h("p", { class: "notice" }, t("cal.unpublished")),
      h("h2", { style: "margin-top: 16px" }, t("cal.add")), add),
    h("div", { class: "card" }, rows.length
      ? h("table", { id: "calendar-table" }, h("thead", {}, h("tr", {}, ...["cal.day", "cal.kind", "cal.name", "cal.source", "admin.actions"].map((k) => h("th", {}, t(k))))), h("tbody", {}, ...rows))
      : h("p", { class: "muted", id: "calendar-empty" }, t("cal.empty"))));
}

function editDay(d) {
  const body = h("div", {}, h("p", {}, dayLabel(d.day)), field(t("cal.kind"), kindSelect(d.kind)), field(t("cal.name"), h("input", { name: "name", value: d.name })));
  dialog(t("admin.edit"), body, async (form) => {
    const data = Object.fromEntries(new FormData(form));
    await api("PUT", `/api/admin/calendar/${d.day}`, { kind: data.kind, name: data.name.trim() });
    await showCalendar();
    notice(t("admin.saved"));
  });
}

function readable(detail) {
  try {
    const data = JSON.parse(detail);
    return Object.entries(data).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("；");
  } catch { return detail; }
}

export async function showEvents() {
  const [events, matters] = await Promise.all([api("GET", "/api/admin/events").then((r) => r.items), api("GET", "/api/admin/matters").then((r) => r.items)]);
  // Subjects by their display names: a matter's name, a department's name (codes stay in 详情).
  const names = { matter: Object.fromEntries(matters.map((m) => [m.code, pick(m, "name")])), department: Object.fromEntries(shared.departments.map((d) => [d.code, pick(d, "name") || d.name_zh])) };
  const subject = (e) => names[e.kind.split(".")[0]]?.[e.subject] || e.subject;
  const rows = events.map((e) => h("tr", {},
    h("td", { class: "nowrap" }, fmtTime(e.at)),
    h("td", {}, e.actor_label),
    h("td", { class: "nowrap" }, t(`event.${e.kind}`)),
    h("td", {}, subject(e)),
    h("td", {}, h("details", {}, h("summary", {}, t("event.detail")), h("div", { class: "mono" }, readable(e.detail))))));
  $("#tab-events").replaceChildren(h("div", { class: "card" }, h("table", { id: "events-table" },
    h("thead", {}, h("tr", {}, ...["event.at", "event.actor", "event.kind", "event.subject", "event.detail"].map((k) => h("th", {}, t(k))))),
    h("tbody", {}, ...rows))));
}
