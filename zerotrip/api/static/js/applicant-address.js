// Where the certificate goes: proposed from the premises, confirmed or changed by the applicant
// until it is issued. The server validates (mobile or landline, six-digit postcode) and audits.
import { api } from "./api.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { addStrings, t } from "./i18n.js";

addStrings({
  "addr.title": ["证照邮寄地址", "Certificate delivery address"],
  "addr.intro": ["默认寄往经营场所，请核对或修改后确认。", "By default it goes to the premises: check or change it, then confirm."],
  "addr.recipient": ["收件人", "Recipient"],
  "addr.phone": ["联系电话", "Phone"],
  "addr.province": ["省份", "Province"],
  "addr.city": ["城市", "City"],
  "addr.address": ["详细地址", "Street address"],
  "addr.postcode": ["邮政编码（6 位）", "Postcode (6 digits)"],
  "addr.confirm": ["确认邮寄地址", "Confirm this address"],
  "addr.change": ["修改", "Change"],
  "addr.confirmed": ["已确认（{at}）", "Confirmed ({at})"],
  "addr.locked": ["证照已制发，地址不能再修改。", "The certificate is issued; the address can no longer change."],
  "addr.cancel": ["取消", "Cancel"],
});

const FIELDS = [
  ["recipient", { maxlength: 100, required: true, autocomplete: "name" }],
  ["phone", { type: "tel", maxlength: 20, required: true, autocomplete: "tel" }],
  ["province", { maxlength: 50, autocomplete: "address-level1" }],
  ["city", { maxlength: 50, required: true, autocomplete: "address-level2" }],
  ["address", { maxlength: 200, required: true, autocomplete: "street-address" }],
  ["postcode", { maxlength: 6, required: true, inputmode: "numeric", pattern: "[0-9]{6}", autocomplete: "postal-code" }],
];

function shown(a) {
  return h("p", { id: "address-shown" }, `${a.recipient} ${a.phone}`, h("br"), `${a.province}${a.city}${a.address} ${a.postcode}`);
}

function form(c, start, card) {
  const error = h("div", { class: "error hidden", role: "alert" });
  const inputs = FIELDS.map(([name, attrs]) => [name, h("input", { id: `addr-${name}`, name, value: start[name] || "", ...attrs })]);
  const el = h("form", { id: "address-form", novalidate: true },
    ...inputs.flatMap(([name, input]) => [h("label", { for: input.id }, t(`addr.${name}`)), input]),
    error,
    h("p", { class: "row" }, h("button", { type: "submit", id: "address-confirm" }, t("addr.confirm")),
      c.delivery.address ? h("button", { type: "button", class: "secondary", onclick: () => render(c, card) }, t("addr.cancel")) : null));
  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(inputs.map(([name, input]) => [name, input.value.trim()]));
    try {
      await api("PUT", `/api/cases/${c.id}/delivery-address`, body);
      document.dispatchEvent(new CustomEvent("case-changed"));
    } catch (err) {
      showError(error, err);
      const field = err.problem?.errors?.[0]?.field;
      if (field) $(`#addr-${field}`, el)?.focus();
    }
  });
  return el;
}

function render(c, card, editing = false) {
  const d = c.delivery;
  const parts = [h("h2", {}, t("addr.title"))];
  if (d.address && !editing) {
    parts.push(shown(d.address), h("p", { class: "muted", dataset: { confirmed: "1" } }, t("addr.confirmed").replace("{at}", fmtTime(d.confirmed_at))));
    if (d.changeable) parts.push(h("button", { type: "button", class: "secondary", id: "address-change", onclick: () => render(c, card, true) }, t("addr.change")));
    else parts.push(h("p", { class: "muted" }, t("addr.locked")));
  } else if (d.changeable) {
    parts.push(h("p", { class: "muted" }, t("addr.intro")), form(c, d.address || d.proposed, card));
  } else {
    card.classList.add("hidden");
    return;
  }
  card.classList.remove("hidden");
  card.replaceChildren(...parts);
}

export function renderAddress(c) {
  const card = $("#delivery-address");
  if (card && c.delivery) render(c, card);
}
