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

export function fmtTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
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
