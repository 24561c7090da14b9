// What every page does on load: translate, wire the language switch, and (staff) the top bar.
import { applyTranslations, t, toggleLanguage } from "./i18n.js";
import { logout, requireStaff } from "./api.js";
import { $, h } from "./dom.js";
import "./nav-strings.js";

// The one staff navigation, in this order on every staff page (administration for admins).
const STAFF_NAV = [
  ["/staff", "nav.cases"],
  ["/staff/mailing", "nav.mailing"],
  ["/staff/rectifications", "nav.rectifications"],
  ["/staff/dashboard", "nav.dashboard"],
  ["/staff/admin", "nav.admin", "admin"],
];

function staffNav(user) {
  const bar = $("header.bar");
  if (!bar) return;
  const here = location.pathname.replace(/\/$/, "") || "/staff";
  const current = (path) => here === path || (path === "/staff" && here.startsWith("/staff/cases"));
  const links = STAFF_NAV.filter(([, , role]) => !role || role === user.role).map(([path, key]) =>
    h("a", { href: path, "aria-current": current(path) ? "page" : false, dataset: { nav: key } }, t(key)));
  const keep = ["#whoami", "#lang", "#logout"].map((sel) => $(sel, bar)).filter(Boolean);
  const title = $("h1", bar) || h("h1", {}, t("app.name"));
  bar.replaceChildren(title, h("nav", { class: "staff-nav" }, ...links), h("span", { class: "spacer" }), ...keep);
}

export function initPage() {
  applyTranslations();
  $("#lang")?.addEventListener("click", toggleLanguage);
}

export async function initStaffPage() {
  initPage();
  $("#logout")?.addEventListener("click", logout);
  const user = await requireStaff();
  staffNav(user);
  const who = $("#whoami");
  if (who) who.textContent = `${user.display_name} · ${t(`role.${user.role}`)}`;
  return user;
}
