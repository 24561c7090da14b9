// Small DOM helpers: build elements from data (always as text, never as HTML) and show errors.
import { t, lang } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function showError(target, err) {
  const box = typeof target === "string" ? $(target) : target;
  box.textContent = err?.message || String(err);
  box.classList.remove("hidden");
}

export function clearError(target) {
  const box = typeof target === "string" ? $(target) : target;
  box.textContent = "";
  box.classList.add("hidden");
}

// Times and "today" are the office's (Asia/Shanghai), whatever zone the browser is in: a phone
// abroad or a test browser in UTC must not move a date picker's day or a shown time.
export const OFFICE_ZONE = "Asia/Shanghai";

export function fmtTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: OFFICE_ZONE });
}

/** The office's calendar day, `days` from today, as YYYY-MM-DD (for date inputs). */
export function officeDate(days = 0) {
  const at = new Date(Date.now() + days * 86400000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: OFFICE_ZONE, year: "numeric", month: "2-digit", day: "2-digit" }).format(at);
}

export function fmtDate(value) {
  if (!value) return "—";
  const d = new Date(`${value}T00:00:00`);
  return d.toLocaleDateString(lang === "zh" ? "zh-CN" : "en-GB", { dateStyle: "medium" });
}

const CLOCK_CLASS = { overdue: "bad", due_soon: "warn", on_time: "ok", paused: "", none: "" };
export function clockBadge(clock) {
  if (!clock || clock === "none") return "";
  return h("span", { class: `badge ${CLOCK_CLASS[clock] || ""}`, dataset: { clock } }, t(`clock.${clock}`));
}

const STATE_CLASS = { approved: "ok", delivered: "ok", closed: "ok", certificate_issued: "ok", rejected: "bad", returned: "warn", rectifying: "warn", withdrawn: "bad" };
export function stateBadge(state) {
  return h("span", { class: `badge ${STATE_CLASS[state] || ""}`, dataset: { state } }, t(`state.${state}`));
}
