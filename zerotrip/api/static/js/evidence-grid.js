// Staff case page: each checklist item's evidence as a grid of thumbnails with the trust
// findings as badges, the distance to the premises, capture and receipt times. Clicking a tile
// opens the display copy with every finding spelled out.
import { api } from "./api.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";
import { SEVERITY_CLASS, VERDICT_CLASS, imageUrl, sentence } from "./evidence-common.js";

addStrings({
  "ev.live_recording": ["视频踏勘录像", "Live inspection recording"],
  "ev.watch": ["观看录像", "Watch"],
  "ev.other": ["其他材料", "Other evidence"],
});

function distanceText(ev) {
  if (ev.distance_m == null) return t("ev.unknown");
  if (ev.distance_m >= 1000) return `${(ev.distance_m / 1000).toFixed(1)} ${t("ev.km")}`;
  return `${Math.round(ev.distance_m)} ${t("ev.metres")}`;
}

function findingBadges(ev) {
  const findings = ev.verdict?.findings || [];
  return findings.map((f) => h("span", { class: `badge ${SEVERITY_CLASS[f.severity] || ""}`, title: sentence(f), dataset: { finding: f.code } }, sentence(f)));
}

function verdictBadge(ev) {
  const v = ev.verdict?.verdict;
  return v ? h("span", { class: `badge ${VERDICT_CLASS[v]}`, dataset: { verdict: v } }, t(`ev.verdict.${v}`)) : null;
}

async function openDisplay(ev) {
  const dialog = $("#evidence-dialog");
  const img = h("img", { class: "ev-display", alt: "", id: "evidence-display" });
  dialog.replaceChildren(
    h("div", { class: "ev-dialog-body" },
      img,
      h("p", {}, verdictBadge(ev), " ", h("span", { class: "muted" }, `${t("ev.policy")} ${ev.verdict?.policy_version || "—"}`)),
      h("ul", { class: "ev-findings" }, (ev.verdict?.findings || []).map((f) => h("li", { dataset: { finding: f.code } }, h("span", { class: `badge ${SEVERITY_CLASS[f.severity] || ""}` }, f.code), " ", sentence(f)))),
      h("dl", { class: "facts" },
        h("dt", {}, t("ev.captured")), h("dd", {}, fmtTime(ev.captured_at)),
        h("dt", {}, t("ev.received")), h("dd", {}, fmtTime(ev.received_at)),
        h("dt", {}, t("ev.distance")), h("dd", {}, distanceText(ev)),
        h("dt", {}, "SHA-256"), h("dd", { class: "mono" }, ev.sha256)),
      h("p", { class: "muted" }, t("ev.disclaimer")),
      h("div", { class: "row ev-dialog-actions" },
        h("a", { class: "button secondary", href: ev.urls.original, download: `evidence-${ev.id}` }, t("ev.original")),
        h("button", { onclick: () => dialog.close() }, t("ev.close")))));
  dialog.showModal();
  try { img.src = await imageUrl(ev.urls.display); } catch (err) { showError(h("div"), err); }
}

function tile(ev) {
  const img = h("img", { class: "ev-thumb", alt: "" });
  imageUrl(ev.urls.thumb).then((url) => { img.src = url; }, () => {});
  return h("button", { class: "ev-tile", dataset: { evidence: ev.id }, onclick: () => openDisplay(ev) },
    img,
    h("div", { class: "ev-meta" },
      h("div", {}, verdictBadge(ev), " ", h("span", { class: "badge" }, t(`ev.source.${ev.source}`))),
      h("div", { class: "ev-badges" }, findingBadges(ev)),
      h("div", { class: "muted ev-distance" }, `${t("ev.distance")}: ${distanceText(ev)}`),
      h("div", { class: "muted" }, `${t("ev.captured")}: ${fmtTime(ev.captured_at)}`),
      h("div", { class: "muted" }, `${t("ev.received")}: ${fmtTime(ev.received_at)}`)));
}

document.addEventListener("case-loaded", async (event) => {
  const c = event.detail;
  $("#evidence-grid")?.remove();
  const card = h("div", { class: "card", id: "evidence-grid" }, h("h2", {}, t("ev.staff_title")), h("p", { class: "muted" }, t("ev.disclaimer")));
  $("#extensions").append(card);
  if (!$("#evidence-dialog")) document.body.append(h("dialog", { id: "evidence-dialog", class: "ev-dialog" }));
  try {
    const { items } = await api("GET", `/api/cases/${c.id}/evidence`);
    const groups = [...c.checkpoints.map((cp) => ({ cp, items: items.filter((e) => e.checkpoint_id === cp.id) }))];
    const loose = items.filter((e) => !c.checkpoints.some((cp) => cp.id === e.checkpoint_id));
    // A live session's recording sits under its session, with the way to watch it.
    const sessions = [...new Set(loose.filter((e) => e.live_session_id != null).map((e) => e.live_session_id))];
    for (const sid of sessions) groups.push({ cp: null, session: sid, items: loose.filter((e) => e.live_session_id === sid) });
    const rest = loose.filter((e) => e.live_session_id == null);
    if (rest.length) groups.push({ cp: null, items: rest });
    for (const { cp, session, items: mine } of groups) {
      const heading = session != null
        ? h("h3", {}, `${t("ev.live_recording")} #${session} `, h("a", { class: "button secondary", href: `/staff/live/${session}/recording` }, t("ev.watch")))
        : h("h3", {}, cp ? pick(cp, "title") : t("ev.other"));
      card.append(h("div", { class: "ev-group", dataset: { checkpoint: cp?.id ?? "", session: session ?? "" } },
        heading,
        mine.length ? h("div", { class: "ev-grid" }, mine.map(tile)) : h("p", { class: "muted" }, t("ev.empty_checkpoint"))));
    }
  } catch (err) {
    const box = h("div", { class: "error" });
    card.append(box);
    showError(box, err);
  }
});
