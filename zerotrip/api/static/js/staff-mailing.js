// The staff console of open courier orders: the ones needing a person first, with retry,
// cancel, reassign and (local courier) record-a-step.
import { api } from "./api.js";
import { initStaffPage } from "./common.js";
import { $, clearError, fmtTime, h, showError } from "./dom.js";
import { applyTranslations, t } from "./i18n.js";
import { staffButtons, statusBadge } from "./mailing.js";
import "./mailing-strings.js";

async function load() {
  clearError("#console-error");
  try {
    const { items } = await api("GET", "/api/mailing/orders");
    const rows = items.map((o) => h("tr", { dataset: { orderId: o.id, status: o.status } },
      h("td", {}, h("a", { href: `/staff/cases/${o.case_id}` }, o.case_reference || `#${o.case_id}`)),
      h("td", {}, t(`kind.${o.kind}`)),
      h("td", {}, statusBadge(o.status), o.note ? h("div", { class: "muted" }, o.note) : null),
      h("td", { class: "mono" }, o.waybill || "—"),
      h("td", {}, o.dispatch ? `${o.dispatch.state} · ${o.dispatch.attempts}` : "—", o.dispatch?.last_error ? h("div", { class: "muted mono" }, o.dispatch.last_error) : null),
      h("td", {}, fmtTime(o.updated_at)),
      h("td", { class: "actions" }, ...staffButtons(o, load, $("#console-error")))));
    $("#orders tbody").replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 7, class: "muted" }, t("mail.empty")))]));
  } catch (err) {
    showError("#console-error", err);
  }
}

await initStaffPage();
applyTranslations();
load();
