// The applicant rates the service (好差评) on their case page: one card in #extensions, shown
// once a step can be rated, with the five national levels and an optional comment.
import "./office-strings.js";
import { api } from "./api.js";
import { fmtTime, h, showError } from "./dom.js";
import { t } from "./i18n.js";
import { LEVELS } from "./office-strings.js";

function ratedView(r) {
  return h("div", { class: "notice", dataset: { rated: r.step } },
    `${t(`rate.step.${r.step}`)}: `, h("strong", {}, t(`level.${r.level}`)), r.comment ? ` — ${r.comment}` : "",
    r.reply ? h("p", {}, h("strong", {}, `${t("rate.reply")} (${fmtTime(r.replied_at)}): `), r.reply) : null);
}

function form(caseId, step, reload) {
  let level = null;
  const buttons = LEVELS.map((lv) => h("button", { type: "button", dataset: { level: lv }, "aria-pressed": "false", onclick: () => {
    level = lv;
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.level === lv));
    submit.disabled = false;
  } }, t(`level.${lv}`)));
  const comment = h("textarea", { rows: 2, maxlength: 2000, id: `rate-comment-${step}` });
  const error = h("div", { class: "error hidden", role: "alert" });
  const submit = h("button", { type: "submit", disabled: true }, t("rate.submit"));
  return h("form", { dataset: { step }, onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", `/api/cases/${caseId}/ratings`, { step, level, comment: comment.value.trim() });
      await reload();
    } catch (err) { showError(error, err); }
  } }, h("h3", {}, t(`rate.step.${step}`)), h("div", { class: "levels" }, ...buttons), h("label", { for: comment.id }, t("rate.comment")), comment, error, h("p", {}, submit));
}

async function render(c) {
  let card = document.getElementById("rating-card");
  const data = await api("GET", `/api/cases/${c.id}/ratings`);
  if (!data.items.length && !data.rateable.length) { card?.remove(); return; }
  if (!card) {
    card = h("div", { class: "card", id: "rating-card" });
    document.getElementById("extensions").append(card);
  }
  // The overall rating (after delivery) in front; the individual steps folded away below it.
  const reload = () => render(c);
  const steps = data.rateable.filter((s) => s !== "delivery");
  // (replaceChildren writes a null as the text "null": leave absent parts out instead)
  card.replaceChildren(...[
    h("h2", {}, t("rate.title")),
    ...data.items.map(ratedView),
    data.rateable.includes("delivery") ? form(c.id, "delivery", reload) : null,
    steps.length ? h("details", { open: !data.rateable.includes("delivery") }, h("summary", {}, t("rate.steps")), ...steps.map((s) => form(c.id, s, reload))) : null,
  ].filter(Boolean));
}

document.addEventListener("case-loaded", (ev) => { render(ev.detail).catch((err) => console.error(err)); });
