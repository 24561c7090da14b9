// What every page does on load: translate, wire the language switch, and (staff) the top bar.
import { applyTranslations, t, toggleLanguage } from "./i18n.js";
import { logout, requireStaff } from "./api.js";
import { $ } from "./dom.js";

export function initPage() {
  applyTranslations();
  $("#lang")?.addEventListener("click", toggleLanguage);
}

export async function initStaffPage() {
  initPage();
  $("#logout")?.addEventListener("click", logout);
  const user = await requireStaff();
  const who = $("#whoami");
  if (who) who.textContent = `${user.display_name} · ${t(`role.${user.role}`)}`;
  return user;
}
