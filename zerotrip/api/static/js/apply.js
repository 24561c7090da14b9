import { api } from "./api.js";
import { initPage } from "./common.js";
import { $, clearError, h, showError } from "./dom.js";
import { pick } from "./i18n.js";

initPage();
const catalogue = await api("GET", "/api/matters");
$("#matter").replaceChildren(...catalogue.items.map((m) => h("option", { value: m.code }, pick(m, "name"))));

$("#apply-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("#apply-error");
  const data = Object.fromEntries(new FormData(ev.target));
  for (const k of Object.keys(data)) if (data[k] === "") delete data[k];
  for (const k of ["premises_lat", "premises_lon"]) if (k in data) data[k] = Number(data[k]);
  try {
    const res = await api("POST", "/api/applications", data);
    ev.target.classList.add("hidden");
    const a = $("#link");
    a.href = res.applicant_link;
    a.textContent = res.applicant_link;
    $("#done").classList.remove("hidden");
  } catch (err) {
    showError("#apply-error", err);
  }
});
