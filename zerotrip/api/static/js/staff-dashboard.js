// The service dashboard: figures for a period and matter, server-drawn SVG charts, CSV export.
import "./office-strings.js";
import { api } from "./api.js";
import { initStaffPage } from "./common.js";
import { $, clearError, h, showError } from "./dom.js";
import { pick, t } from "./i18n.js";

await initStaffPage();
const params = new URLSearchParams(location.search);
const today = new Date();
const iso = (d) => d.toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });  // the office's dates
$("#d-to").value = params.get("to") || iso(today);
$("#d-from").value = params.get("from") || iso(new Date(today.getFullYear(), today.getMonth() - 11, 1));
const catalogue = await api("GET", "/api/matters?withdrawn=true");  // running cases of withdrawn matters too
$("#d-matter").append(h("option", { value: "" }, t("dash.all")), ...catalogue.items.map((m) => h("option", { value: m.code }, pick(m, "name"))));
$("#d-matter").value = params.get("matter") || "";

const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);
const num = (x) => (x === null || x === undefined ? "—" : String(x));

function figure(key, value, sub, id) {
  return h("div", { class: "figure", dataset: { figure: id } }, h("div", { class: "value" }, value), h("div", { class: "label" }, t(key)), sub ? h("div", { class: "sub" }, sub) : null);
}

async function load() {
  clearError("#dash-error");
  const q = new URLSearchParams({ from: $("#d-from").value, to: $("#d-to").value });
  if ($("#d-matter").value) q.set("matter", $("#d-matter").value);
  history.replaceState(null, "", `?${q}`);
  $("#csv").href = `/api/dashboard/rows.csv?${q}`;
  try {
    const f = await api("GET", `/api/dashboard?${q}`);
    const hd = f.handling_days;
    $("#figures").replaceChildren(
      figure("dash.received", num(f.received), null, "received"),
      figure("dash.closed", num(f.closed), null, "closed"),
      figure("dash.no_visit", pct(f.without_visit.share), `${f.without_visit.count} / ${f.closed}`, "no_visit"),
      figure("dash.avg_days", num(hd.average), `${t("dash.limit")} ${num(hd.statutory_limit)}`, "average"),
      figure("dash.p90_days", num(hd.p90), `${t("dash.limit")} ${num(hd.statutory_limit)}`, "p90"),
      figure("dash.within", pct(hd.within_limit_share), `${hd.within_limit} / ${hd.decided}`, "within"),
      figure("dash.inspections", `${f.inspections.photo} / ${f.inspections.live}`, null, "inspections"),
      figure("dash.live_minutes", num(f.inspections.average_live_minutes), null, "live_minutes"),
      figure("dash.courier", `${f.courier.orders} / ${num(f.courier.average_delivery_days)}`, null, "courier"),
      figure("dash.ratings", `${f.ratings.total} / ${pct(f.ratings.satisfied_share)}`, null, "ratings"),
      figure("dash.rectified", pct(f.ratings.rectification_rate), `${f.ratings.rectified} / ${f.ratings.rectifications}`, "rectified"),
    );
    const depts = await api("GET", `/api/dashboard/departments?${q}`);
    $("#dept-compare tbody").replaceChildren(...depts.items.map((d) => h("tr", { dataset: { department: d.code || "" } },
      h("td", {}, pick(d, "name") || d.name_zh), h("td", {}, num(d.received)), h("td", {}, num(d.closed)),
      h("td", {}, `${pct(d.within_share)}`, h("span", { class: "muted" }, ` (${d.within_limit} / ${d.decided})`)), h("td", {}, num(d.average_days)))));
    $("#charts").replaceChildren(...["months", "handling", "ratings", "inspections"].map((c) =>
      h("img", { src: `/api/dashboard/charts/${c}.svg?${q}`, alt: c, dataset: { chart: c } })));
  } catch (err) {
    showError("#dash-error", err);
  }
}

$("#period").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
load();
