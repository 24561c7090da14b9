// On the staff case page: the messages sent (or only recorded) to the applicant, and the
// applicant's ratings with their rectification state.
import "./office-strings.js";
import { api } from "./api.js";
import { fmtDate, fmtTime, h } from "./dom.js";
import { t } from "./i18n.js";

// Sent and recorded messages are fine (green); a withdrawn one is neutral (grey).
const STATUS_BADGE = { failed: "bad", queued: "warn", withdrawn: "" };

function section(id, title, ...children) {
  let card = document.getElementById(id);
  if (!card) {
    card = h("div", { class: "card", id });
    document.getElementById("extensions").append(card);
  }
  card.replaceChildren(h("h2", {}, title), ...children);
}

async function render(c) {
  const [notes, ratings] = await Promise.all([api("GET", `/api/cases/${c.id}/notifications`), api("GET", `/api/cases/${c.id}/ratings`)]);
  section("messages-card", t("msg.title"), notes.items.length
    ? h("table", {}, h("tbody", {}, ...notes.items.map((n) => h("tr", { dataset: { notification: n.id } },
        h("td", {}, fmtTime(n.created_at)),
        h("td", {}, h("strong", {}, n.subject), h("div", { class: "muted", style: "white-space: pre-line" }, n.text)),
        h("td", {}, t(`msg.channel.${n.channel}`), n.recipient ? h("div", { class: "muted" }, n.recipient) : null),
        h("td", {}, h("span", { class: `badge ${STATUS_BADGE[n.status] ?? "ok"}` }, t(`msg.status.${n.status}`)), n.last_error ? h("div", { class: "muted" }, n.last_error) : null)))))
    : h("p", { class: "muted" }, t("msg.empty")));
  if (ratings.items.length) {
    section("ratings-card", t("ratings.title"), h("table", {}, h("tbody", {}, ...ratings.items.map((r) => h("tr", {},
      h("td", {}, t(`rate.step.${r.step}`)),
      h("td", {}, h("strong", {}, t(`level.${r.level}`)), r.comment ? h("div", { class: "muted" }, r.comment) : null),
      h("td", {}, r.rectification ? h("a", { href: "/staff/rectifications" }, `${t(`rect.${r.rectification.overdue ? "overdue" : r.rectification.state}`)} · ${fmtDate(r.rectification.due_date)}`) : "—"))))));
  }
}

document.addEventListener("case-loaded", (ev) => { render(ev.detail).catch((err) => console.error(err)); });
