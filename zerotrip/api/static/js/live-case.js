// The live-inspection section of the case pages: the applicant sees the booked time and the
// link to join; staff book a slot, open the console, cancel, or watch a recorded session.
import { api } from "./api.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { t } from "./i18n.js";
import "./live-common.js"; // strings
import { fmtDuration } from "./live-summary.js";

const applicantToken = location.pathname.startsWith("/a/") ? decodeURIComponent(location.pathname.split("/")[2]) : null;
const OPEN = ["scheduled", "waiting", "live", "interrupted"];

document.addEventListener("case-loaded", (event) => render(event.detail).catch(() => {}));

async function render(c) {
  let card = $("#live-sessions");
  if (!card) {
    card = h("div", { class: "card", id: "live-sessions" });
    $("#extensions").append(card);
  }
  const sessions = await api("GET", `/api/cases/${c.id}/live-sessions`);
  const rows = sessions.map((s) => h("p", { dataset: { session: s.id } },
    h("strong", {}, `${fmtTime(s.slot_start)} – ${fmtTime(s.slot_end)}`), " ",
    h("span", { class: "badge" }, t(`state.${s.state}`)), " ",
    OPEN.includes(s.state)
      ? (applicantToken
        ? h("a", { class: "button", href: `/a/${encodeURIComponent(applicantToken)}/live/${s.id}` }, t("live.join"))
        : [h("a", { class: "button", href: `/staff/live/${s.id}` }, t("live.open_console")), " ",
          h("button", { class: "secondary", onclick: () => cancel(c, s) }, t("live.cancel"))])
      : null,
    // Staff watch a session's recording under the session itself.
    !applicantToken && s.recording_segments
      ? [" ", h("a", { class: "button secondary watch", href: `/staff/live/${s.id}/recording` }, `${t("live.watch")} (${fmtDuration(s.recording_ms / 1000)})`)]
      : null));
  const parts = [h("h2", {}, t("live.sessions")), ...(rows.length ? rows : [h("p", { class: "muted" }, t("live.none"))])];
  if (!applicantToken) parts.push(bookForm(c));
  card.replaceChildren(...parts);
}

function bookForm(c) {
  const start = h("input", { type: "datetime-local", id: "live-start", required: true });
  const minutes = h("input", { type: "number", id: "live-minutes", min: 10, max: 240, value: 30 });
  const error = h("div", { class: "error hidden", role: "alert" });
  const form = h("form", { class: "row" }, h("div", {}, h("label", {}, t("live.start")), start), h("div", {}, h("label", {}, t("live.minutes")), minutes), h("button", { type: "submit" }, t("live.book")), error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const begin = new Date(start.value);
      const end = new Date(begin.getTime() + Number(minutes.value) * 60_000);
      await api("POST", `/api/cases/${c.id}/live-sessions`, { slot_start: begin.toISOString(), slot_end: end.toISOString() });
      await render(c);
    } catch (err) { showError(error, err); }
  });
  return form;
}

async function cancel(c, s) {
  if (!confirm(t(s.state === "scheduled" ? "live.confirm_cancel" : "live.confirm_end"))) return;
  try { await api("POST", `/api/live/sessions/${s.id}/cancel`, {}); await render(c); } catch (err) { showError("#case-error", err); }
}
