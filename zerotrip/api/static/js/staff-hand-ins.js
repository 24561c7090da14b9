// Staff case page, additive: outstanding (容缺) materials the applicant handed in, with accept /
// reject (a reason the applicant reads), and the certificate's delivery address as confirmed.
import { api, authHeaders } from "./api.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";

addStrings({
  "shi.title": ["容缺材料补交", "Outstanding materials handed in"],
  "shi.none": ["申请人尚未补交", "Nothing handed in yet"],
  "shi.upload": ["上传文件", "Upload"],
  "shi.mail": ["随快递寄送", "By courier"],
  "shi.open": ["查看文件", "Open the file"],
  "shi.accept": ["通过（视为已收）", "Accept (received)"],
  "shi.reject": ["退回", "Reject"],
  "shi.reason": ["请写明退回原因（申请人会看到）", "Why is it rejected? (the applicant reads this)"],
  "shi.state.submitted": ["待审核", "To review"],
  "shi.state.mail": ["待签收", "Awaiting the parcel"],
  "shi.state.accepted": ["已通过", "Accepted"],
  "shi.state.rejected": ["已退回", "Rejected"],
  "shi.replaced": ["已被新文件替换", "Replaced by a newer upload"],
  "shi.address": ["证照邮寄地址", "Certificate delivery address"],
  "shi.address_none": ["申请人尚未确认，制证时将寄往经营场所。", "Not confirmed yet; the certificate would go to the premises."],
  "shi.address_at": ["申请人确认于 {at}", "Confirmed by the applicant {at}"],
  // how these steps read in the case trail (办件轨迹)
  "ev.material.handed_in": ["申请人补交容缺材料", "Outstanding material handed in"],
  "ev.material.hand_in_accepted": ["补交材料通过", "Handed-in material accepted"],
  "ev.material.hand_in_rejected": ["补交材料退回", "Handed-in material rejected"],
  "ev.delivery_address.confirmed": ["申请人确认证照邮寄地址", "Delivery address confirmed"],
});

function card(id, section) {
  let box = document.getElementById(id);
  if (!box) {
    box = h("div", { class: "card", id, dataset: { section } });
    $("#extensions").append(box);
  }
  return box;
}

async function openFile(c, x, error) {
  try {
    const resp = await fetch(`/api/cases/${c.id}/hand-ins/${x.id}/document`, { headers: authHeaders() });
    if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).detail || `HTTP ${resp.status}`);
    window.open(URL.createObjectURL(await resp.blob()), "_blank", "noopener");
  } catch (err) { showError(error, err); }
}

function row(c, x, reload, error) {
  const decide = async (accept) => {
    let reason = "";
    if (!accept) {
      reason = prompt(t("shi.reason")) || "";
      if (!reason.trim()) return;
    }
    try { await api("POST", `/api/cases/${c.id}/hand-ins/${x.id}/decision`, { accept, reason }); await reload(); } catch (err) { showError(error, err); }
  };
  const pending = x.state === "submitted" || x.state === "mail";
  return h("tr", { dataset: { handIn: x.id, state: x.state } },
    h("td", {}, pick(x, "name")),
    h("td", {}, t(`shi.${x.method}`), x.filename ? h("div", { class: "muted" }, x.filename) : null),
    h("td", {}, fmtTime(x.submitted_at)),
    h("td", {}, h("span", { class: `badge ${x.state === "accepted" ? "ok" : x.state === "rejected" ? "bad" : "warn"}` }, t(`shi.state.${x.state}`)),
      x.reason === "replaced" ? h("div", { class: "muted" }, t("shi.replaced")) : x.reason ? h("div", { class: "muted" }, x.reason) : null),
    h("td", {}, x.has_document ? h("button", { type: "button", class: "secondary", onclick: () => openFile(c, x, error) }, t("shi.open")) : null, " ",
      pending ? h("button", { type: "button", dataset: { op: "accept" }, onclick: () => decide(true) }, t("shi.accept")) : null, " ",
      pending ? h("button", { type: "button", class: "danger", dataset: { op: "reject" }, onclick: () => decide(false) }, t("shi.reject")) : null));
}

async function renderHandIns(c) {
  const box = card("hand-ins", "materials");
  const error = h("div", { class: "error hidden", role: "alert" });
  const reload = async () => document.dispatchEvent(new CustomEvent("case-changed"));
  const { items } = await api("GET", `/api/cases/${c.id}/hand-ins`);
  if (!items.length && !c.materials.some((m) => m.status === "outstanding")) { box.remove(); return; }
  box.replaceChildren(h("h2", {}, t("shi.title")), error,
    items.length ? h("table", {}, h("tbody", {}, ...items.map((x) => row(c, x, reload, error)))) : h("p", { class: "muted" }, t("shi.none")));
}

function renderAddress(c) {
  const box = card("staff-delivery-address", "mailing");
  const a = c.delivery?.address;
  box.replaceChildren(h("h2", {}, t("shi.address")),
    a ? h("p", {}, `${a.recipient} ${a.phone}`, h("br"), `${a.province}${a.city}${a.address} ${a.postcode}`) : h("p", { class: "muted" }, t("shi.address_none")),
    a ? h("p", { class: "muted" }, t("shi.address_at").replace("{at}", fmtTime(c.delivery.confirmed_at))) : null);
}

document.addEventListener("case-loaded", (ev) => {
  renderAddress(ev.detail);
  renderHandIns(ev.detail).catch((err) => console.error(err));
});
