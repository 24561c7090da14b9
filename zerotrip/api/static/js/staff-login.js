import { api, csrf } from "./api.js";
import { initPage } from "./common.js";
import { $, clearError, showError } from "./dom.js";

initPage();
let currentPassword = "";
const next = new URLSearchParams(location.search).get("next");
const target = next && next.startsWith("/staff") ? next : "/staff";

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("#login-error");
  try {
    currentPassword = $("#password").value;
    const res = await api("POST", "/api/session", { username: $("#username").value, password: currentPassword });
    csrf.set(res.csrf_token);
    if (res.user.must_change_password) {
      $("#login-form").classList.add("hidden");
      $("#password-form").classList.remove("hidden");
      return;
    }
    location.href = target;
  } catch (err) {
    showError("#login-error", err);
  }
});

$("#password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError("#password-error");
  try {
    await api("POST", "/api/me/password", { current_password: currentPassword, new_password: $("#new-password").value });
    location.href = target;
  } catch (err) {
    showError("#password-error", err);
  }
});
