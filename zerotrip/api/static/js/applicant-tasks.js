// The applicant's "下一步" list at the top of their page: one card per thing to do now, each
// linking to its section; sections with nothing left to do are folded (a tap opens them). The
// list itself comes from the server (next_steps in the case view), decided from the case state.
import { $, fmtDate, fmtTime, h } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";

addStrings({
  "next.title": ["下一步", "What to do now"],
  "next.none": ["目前无需您操作，请留意办理进度。", "Nothing to do right now; follow the progress below."],
  "next.go": ["去办理", "Go"],
  "next.resubmit": ["按退回原因修改后重新提交", "Correct what was asked and resubmit"],
  "next.wait_prereview": ["等待工作人员预审", "Waiting for the office's pre-review"],
  "next.wait_prereview.detail": ["预审通过前无需拍照或寄送材料。", "No photos or parcels are needed before pre-review."],
  "next.supply_material": ["补交容缺材料", "Hand in the outstanding material"],
  "next.supply_material.due": ["请于 {due} 前补交：", "Due {due}: "],
  "next.book_pickup": ["预约快递上门取件", "Book the courier pickup"],
  "next.book_pickup.detail": ["纸质材料原件由快递上门取走，请选择时间，或选择自行送达。", "A courier collects the paper originals: choose a window, or hand them in yourself."],
  "next.confirm_address": ["确认证照邮寄地址", "Confirm the delivery address"],
  "next.confirm_address.detail": ["证照将寄往此地址，制证前可修改。", "The certificate goes there; you can change it until it is issued."],
  "next.join_inspection": ["参加视频踏勘", "Join the video inspection"],
  "next.join_inspection.at": ["时间：{at}", "At {at}"],
  "next.take_photos": ["为踏勘要点拍照", "Photograph the checklist items"],
  "next.redo_checkpoints": ["整改后重新拍照", "Photograph again after rectifying"],
  "next.rate": ["评价我们的服务", "Rate our service"],
  "inspection.pending": ["踏勘方式：预审通过后，工作人员会请您在页面内拍照，或预约视频踏勘。", "Inspection: after pre-review you will be asked for photos taken in this page, or a video call will be booked."],
  "inspection.photos": ["踏勘方式：拍照上传（请在本页面内拍摄，无需到场）。", "Inspection: photos taken in this page (nobody visits)."],
  "inspection.live": ["踏勘方式：视频连线，请按预约时间在现场用手机参加。", "Inspection: a video call; join from the premises on your phone at the booked time."],
  "inspection.done": ["踏勘已完成。", "The inspection is done."],
});

const folded = new Set();
const opened = new Set(); // sections the applicant opened by hand stay open

function cardOf(section) {
  const el = document.getElementById(section);
  return el ? (el.classList.contains("card") ? el : el.closest(".card")) : null;
}

function applyFolding() {
  for (const section of folded) {
    const card = cardOf(section);
    if (!card || opened.has(section) || card.classList.contains("folded")) continue;
    card.dataset.folding = section;
    card.classList.add("folded");
  }
}

// Sections render late (each module fetches its own data): fold them as they appear.
new MutationObserver(applyFolding).observe(document.querySelector("main"), { childList: true, subtree: true });
document.addEventListener("click", (ev) => {
  const card = ev.target.closest?.(".card.folded");
  if (!card) return;
  opened.add(card.dataset.folding);
  card.classList.remove("folded");
});

function go(section) {
  folded.delete(section);
  opened.add(section);
  const card = cardOf(section);
  if (!card) return;
  card.classList.remove("folded");
  card.scrollIntoView({ behavior: "smooth", block: "start" });
}

function detail(step) {
  const names = (step.items || []).map((i) => pick(i, "name")).join("、");
  switch (step.kind) {
    case "supply_material":
      return (step.due ? t("next.supply_material.due").replace("{due}", fmtDate(step.due)) : "") + names;
    case "join_inspection":
      return t("next.join_inspection.at").replace("{at}", fmtTime(step.at));
    case "take_photos":
    case "redo_checkpoints":
      return names;
    case "book_pickup":
    case "confirm_address":
    case "wait_prereview":
      return t(`next.${step.kind}.detail`);
    default:
      return "";
  }
}

function taskCard(step) {
  const actionable = step.kind !== "wait_prereview";
  return h("a", { class: `task ${actionable ? "" : "info"}`, href: `#${step.section}`, dataset: { step: step.kind }, onclick: (ev) => { ev.preventDefault(); go(step.section); } },
    h("strong", {}, t(`next.${step.kind}`)),
    detail(step) ? h("span", { class: "muted" }, detail(step)) : null,
    actionable ? h("span", { class: "go" }, `${t("next.go")} ›`) : null);
}

export function renderTasks(c) {
  const box = $("#next-steps");
  const next = c.next_steps;
  if (!box || !next) return;
  folded.clear();
  for (const s of next.done_sections) if (!opened.has(s)) folded.add(s);
  for (const card of document.querySelectorAll(".card.folded")) {
    if (!folded.has(card.dataset.folding)) card.classList.remove("folded");
  }

  box.replaceChildren(
    h("h2", {}, t("next.title")),
    ...(next.steps.length ? next.steps.map(taskCard) : [h("p", { class: "muted", id: "no-tasks" }, t("next.none"))]),
    next.inspection ? h("p", { class: "notice", id: "inspection-mode", dataset: { mode: next.inspection } }, t(`inspection.${next.inspection}`)) : null,
  );
  box.classList.remove("hidden");
  applyFolding();
}
