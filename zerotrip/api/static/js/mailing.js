// Courier orders on a case page: the applicant follows each order's timeline and chooses a pickup
// window (or to hand in) and how to receive the certificate; staff also see labels and dispatch
// and can retry, cancel, reassign, or record a local courier's step. Hooks into #extensions.
import { api } from "./api.js";
import { $, fmtTime, h, officeDate, showError } from "./dom.js";
import { pick, t } from "./i18n.js";
import "./mailing-strings.js";

const STAFF = !location.pathname.startsWith("/a/");
const BAD = new Set(["attention", "failed", "returned"]);
const GOOD = new Set(["delivered", "picked_up", "in_transit", "out_for_delivery", "pickup_scheduled", "booked"]);
const LOCAL_STEPS = ["picked_up", "in_transit", "out_for_delivery", "delivered", "attention", "returned"];
const SLOTS = [["09:00", "12:00"], ["13:00", "17:00"], ["18:00", "21:00"]];

export function statusBadge(status) {
  const cls = BAD.has(status) ? "bad" : status === "delivered" ? "ok" : GOOD.has(status) ? "" : "warn";
  return h("span", { class: `badge ${cls}`, dataset: { orderStatus: status } }, t(`state.${status}`));
}

function timeline(order) {
  return h("ol", { class: "timeline" }, ...order.history.map((e) => h("li", { class: e.applied ? "" : "muted" },
    h("span", { class: "when" }, fmtTime(e.occurred_at)), " ", t(`state.${e.status}`),
    e.description ? h("span", { class: "muted" }, ` · ${e.description}`) : null,
    e.applied ? null : h("span", { class: "muted" }, ` (${t("mail.ignored")}: ${e.ignored_reason})`))));
}

function choiceForm(c, order, reload, errorBox) {
  const tomorrow = officeDate(1);
  const date = h("input", { type: "date", id: `date-${order.id}`, value: tomorrow, min: tomorrow });
  const slot = h("select", { id: `slot-${order.id}` }, ...SLOTS.map(([a, b], i) => h("option", { value: i }, `${a}–${b}`)));
  const send = async (body) => {
    try { await api("POST", `/api/cases/${c.id}/mailing/orders/${order.id}/choice`, body); await reload(); } catch (err) { showError(errorBox, err); }
  };
  const book = () => {
    const [a, b] = SLOTS[Number(slot.value)];
    send({ window_start: new Date(`${date.value}T${a}:00+08:00`).toISOString(), window_end: new Date(`${date.value}T${b}:00+08:00`).toISOString() });
  };
  return h("div", { class: "choice" }, h("p", { class: "notice" }, t("mail.choose")),
    h("div", { class: "row" }, h("div", {}, h("label", { for: date.id }, t("mail.date")), date), h("div", {}, h("label", { for: slot.id }, t("mail.slot")), slot)),
    h("p", { class: "actions" }, h("button", { id: `book-${order.id}`, onclick: book }, t("mail.book")),
      h("button", { class: "secondary", id: `hand-in-${order.id}`, onclick: () => send({ hand_in: true }) }, t("mail.hand_in"))));
}

export function staffButtons(order, reload, errorBox) {
  const post = async (path, body) => {
    try { await api("POST", `/api/mailing/orders/${order.id}/${path}`, body); await reload(); } catch (err) { showError(errorBox, err); }
  };
  const out = [];
  if (order.can_retry) out.push(h("button", { class: "secondary", dataset: { op: "retry" }, onclick: () => post("retry") }, t("mail.retry")));
  if (order.can_cancel) out.push(h("button", { class: "danger", dataset: { op: "cancel" }, onclick: () => {
    const reason = prompt(t("mail.reason"));
    if (reason) post("cancel", { reason });
  } }, t("mail.cancel")));
  if (order.can_retry || order.status === "awaiting_choice") {
    const other = order.courier === "local" ? null : "local";
    if (other) out.push(h("button", { class: "secondary", dataset: { op: "reassign" }, onclick: () => post("reassign", { courier: other }) }, `${t("mail.reassign")} → ${courierName(other)}`));
  }
  if (order.courier === "local" && order.waybill && !["delivered", "cancelled", "returned", "failed"].includes(order.status)) {
    const pick = h("select", { dataset: { op: "advance-status" } }, ...LOCAL_STEPS.map((s) => h("option", { value: s }, t(`state.${s}`))));
    out.push(h("span", { class: "advance" }, pick, h("button", { class: "secondary", dataset: { op: "advance" }, onclick: () => post("advance", { status: pick.value }) }, t("mail.advance"))));
  }
  return out;
}

// An address as it is written in China: street (with the city unless it already names it), postcode.
function addressText(a) {
  const street = [a.street1, a.street2].filter(Boolean).join(" ");
  // (the state and city a courier account needs may be codes such as "ZJ"; people read the street)
  const place = [a.state, a.city].filter((p) => p && !street.includes(p) && /[^\x00-\x7f]/.test(p)).join("");
  return [`${place}${street}`, a.zip].filter(Boolean).join(" ");
}

// A courier's display name (its configuration key otherwise, e.g. a custom webhook courier).
export function courierName(key) {
  const known = t(`courier.${key}`);
  return known === `courier.${key}` ? key : known;
}

function addressFact(order) {
  const a = order.kind === "delivery" ? order.recipient : order.sender;
  if (!a || !a.street1) return null;
  const who = [a.name, a.phone].filter(Boolean).join(" ");
  return [t(order.kind === "delivery" ? "mail.to" : "mail.from"), h("span", { dataset: { address: order.kind } }, addressText(a), who ? h("div", { class: "muted" }, who) : null)];
}

function contentsFact(order) {
  if (!order.contents || !order.contents.length) return null;
  return [t("mail.contents"), h("ul", { class: "contents", dataset: { contents: order.id } }, ...order.contents.map((m) => h("li", { dataset: { material: m.code } },
    pick(m, "name"), m.outstanding ? h("span", { class: "badge warn" }, t("mail.outstanding")) : null)))];
}

function orderCard(c, order, reload, errorBox) {
  const facts = [
    [t("mail.waybill"), order.waybill ? h("span", { class: "mono waybill" }, order.waybill) : "—"],
    order.window_start ? [t("mail.window"), `${fmtTime(order.window_start)} – ${fmtTime(order.window_end)}`] : null,
    addressFact(order),
    contentsFact(order),
  ];
  if (STAFF) {
    facts.push([t("mail.courier"), `${courierName(order.courier)} · ${t("mail.attempt").replace("{n}", order.attempt)}`]);
    if (order.label_url) facts.push([t("mail.label"), h("a", { href: order.label_url, target: "_blank", rel: "noopener" }, "PDF")]);
    if (order.dispatch) facts.push([t("mail.dispatch"), `${t(`dispatch.${order.dispatch.state}`)} · ${order.dispatch.attempts} ${t("mail.attempts")}`, order.dispatch.last_error ? h("details", { class: "raw" }, h("summary", {}, t("mail.last_error")), h("pre", {}, order.dispatch.last_error)) : null]);
  }
  return h("section", { class: "order", dataset: { orderId: order.id, kind: order.kind } },
    h("h3", {}, t(`mail.${order.kind}`), " ", statusBadge(order.status)),
    h("dl", { class: "facts" }, ...facts.filter(Boolean).flatMap(([k, ...v]) => [h("dt", {}, k), h("dd", {}, ...v)])),
    order.note ? h("p", { class: "muted" }, order.note) : null,
    !STAFF && order.can_choose ? choiceForm(c, order, reload, errorBox) : null,
    timeline(order),
    STAFF ? h("p", { class: "actions" }, ...staffButtons(order, reload, errorBox)) : null);
}

function preference(c, data, reload, errorBox) {
  if (["certificate_issued", "delivered", "closed", "withdrawn", "rejected"].includes(c.state)) return null;
  const choose = async (method) => {
    try { await api("PUT", `/api/cases/${c.id}/mailing/delivery-preference`, { method }); await reload(); } catch (err) { showError(errorBox, err); }
  };
  const opt = (method, key) => h("button", { class: data.delivery_preference === method ? "" : "secondary", dataset: { pref: method }, onclick: () => choose(method) }, t(key));
  return h("div", { class: "preference" }, h("h3", {}, t("mail.pref")), h("p", { class: "actions" }, opt("courier", "mail.pref_courier"), opt("self_collect", "mail.pref_self")));
}

async function render(c) {
  let card = $("#mailing");
  if (!card) {
    card = h("div", { class: "card", id: "mailing" });
    $("#extensions").append(card);
  }
  const errorBox = h("div", { class: "error hidden", role: "alert" });
  const reload = () => render(c);
  try {
    const data = await api("GET", `/api/cases/${c.id}/mailing`);
    card.replaceChildren(h("h2", {}, t("mail.title")), errorBox,
      ...(data.orders.length ? data.orders.map((o) => orderCard(c, o, reload, errorBox)) : [h("p", { class: "muted" }, t("mail.none"))]),
      ...[preference(c, data, reload, errorBox)].filter(Boolean));
  } catch (err) {
    card.replaceChildren(h("h2", {}, t("mail.title")), errorBox);
    showError(errorBox, err);
  }
}

document.addEventListener("case-loaded", (event) => render(event.detail));
