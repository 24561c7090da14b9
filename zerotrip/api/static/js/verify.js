// The public certificate check behind the QR code: valid, revoked, expired or unknown, and only
// what the certificate itself shows. No login, nothing about the applicant beyond that.
import { api } from "./api.js";
import { initPage } from "./common.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { addStrings, lang, t } from "./i18n.js";

addStrings({
  "verify.title": ["证照核验", "Certificate check"],
  "verify.shows": ["证照信息", "What the certificate shows"],
  "verify.note": ["本页仅显示证照上载明的信息。", "This page shows only what is printed on the certificate."],
  "verify.valid": ["有效：该证照由本机关核发，未被撤销。", "Valid: issued by this office and not revoked."],
  "verify.revoked": ["已撤销：该证照已被撤销，不再有效。", "Revoked: this certificate is no longer valid."],
  "verify.expired": ["已过期：该证照已超过有效期。", "Expired: this certificate is past its validity."],
  "verify.unknown": ["未找到：没有与此验证码对应的证照。", "Unknown: no certificate has this verification code."],
  "verify.code": ["验证码", "Verification code"],
  "verify.certificate": ["证照名称", "Certificate"],
  "verify.holder": ["持证主体", "Holder"],
  "verify.premises": ["经营场所", "Premises"],
  "verify.number": ["许可编号", "Number"],
  "verify.issued": ["发证日期", "Issued"],
  "verify.valid_until": ["有效期至", "Valid until"],
  "verify.revoked_at": ["撤销时间", "Revoked"],
});
initPage();

const CLASS = { valid: "ok", revoked: "bad", expired: "warn", unknown: "bad" };
const code = decodeURIComponent(location.pathname.split("/").pop());

try {
  const v = await api("GET", `/api/verify/${encodeURIComponent(code)}`);
  $("#verdict").replaceChildren(
    h("p", { class: `status-banner ${CLASS[v.status] || ""}`, id: "status", dataset: { status: v.status } }, t(`verify.${v.status}`)),
    h("p", { class: "mono" }, `${t("verify.code")}: ${v.code}`),
  );
  if (v.status !== "unknown") {
    const rows = [
      ["verify.certificate", lang === "zh" ? v.title_zh : v.title_en],
      ["verify.holder", v.holder],
      ["verify.premises", v.premises_address],
      ["verify.number", v.reference],
      ["verify.issued", fmtTime(v.issued_at)],
      ["verify.valid_until", fmtTime(v.valid_until)],
    ];
    if (v.revoked_at) rows.push(["verify.revoked_at", fmtTime(v.revoked_at)]);
    $("#facts").replaceChildren(...rows.flatMap(([k, val]) => [h("dt", {}, t(k)), h("dd", {}, val || "—")]));
    $("#certificate").classList.remove("hidden");
  }
} catch (err) {
  showError("#verdict", err);
}
