// A session's recording for staff (/staff/live/<session>/recording): one player over all its
// segments on a single timeline, chapter marks (checkpoints, stills, photo requests, pointers,
// prompts, challenge codes) to jump to, the inspector's pointers drawn again where they were
// shown, and each segment to download under a real file name.
import { api } from "./api.js";
import { initStaffPage } from "./common.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { addStrings, pick, t } from "./i18n.js";
import "./live-common.js";
import { POINTER_SHOWN_MS, drawPointer } from "./live-pointer.js";

addStrings({
  "rec.title": ["踏勘录像", "Inspection recording"],
  "rec.play": ["播放", "Play"],
  "rec.pause": ["暂停", "Pause"],
  "rec.chapters": ["章节", "Chapters"],
  "rec.downloads": ["下载录像", "Download the recording"],
  "rec.empty": ["这次踏勘没有录像。", "This session has no recording."],
  "rec.segment": ["片段", "Part"],
  "rec.voices": ["声音轨道", "Voice tracks"],
  "rec.voice.applicant": ["申请人", "Applicant"],
  "rec.voice.inspector": ["检查员", "Inspector"],
  "rec.voice.guest": ["第三方专家", "Guest expert"],
  "rec.session": ["视频踏勘", "Live inspection"],
  "rec.kind.checkpoint": ["检查项", "Checkpoint"],
  "rec.kind.still": ["截图", "Still"],
  "rec.kind.photo": ["请拍高清照", "Photo request"],
  "rec.kind.pointer": ["指示", "Pointer"],
  "rec.kind.prompt": ["提示", "Prompt"],
  "rec.kind.challenge": ["验证码", "Challenge code"],
  "rec.shape.circle": ["圈出", "circle"],
  "rec.shape.arrow": ["箭头", "arrow"],
  "rec.result.shown": ["已出示", "shown"],
  "rec.result.not_shown": ["未出示", "not shown"],
});

const EPSILON_S = 0.05; // a seek lands within this of where it was asked to (float rounding)
const sessionId = Number(location.pathname.split("/")[3]);
const state = { view: null, current: -1, pending: null, shownPointer: null, seek: (at, play) => seek(at, play) };
window.liveRecording = state; // read by the end-to-end test

await initStaffPage();

function clock(s) {
  const total = Math.max(0, Math.floor(s));
  const m = Math.floor(total / 60);
  return `${m}:${String(total % 60).padStart(2, "0")}`;
}

/** Where the player is on the session's timeline. */
function now() {
  const seg = state.view.segments[state.current];
  return seg ? seg.start_s + ($("#player").currentTime || 0) : 0;
}

/** Show the segment holding ``at`` (or the next one after a gap) from the right moment. */
function seek(at, play = !$("#player").paused) {
  const segs = state.view.segments;
  let i = segs.findIndex((s) => at < s.start_s + s.duration_s);
  if (i < 0) i = segs.length - 1;
  show(i, Math.max(0, Math.min(at - segs[i].start_s, segs[i].duration_s)), play);
}

/** Segment ``i`` from ``into`` seconds into it (segments may overlap by a fraction of a second
 * where one was cut: the next one is taken by its index, not by the time). */
function show(i, into, play) {
  const segs = state.view.segments;
  const player = $("#player");
  if (i !== state.current) {
    state.current = i;
    state.pending = { into, play };
    player.src = segs[i].url;
    $("#segment-now").textContent = `${t("rec.segment")} ${i + 1} / ${segs.length}`;
  } else {
    player.currentTime = into;
    if (play) player.play().catch(() => {});
  }
  tick();
}

function tick() {
  const at = now();
  const total = state.view.duration_s;
  $("#clock").textContent = `${clock(at)} / ${clock(total)}`;
  $("#playhead").style.left = `${total ? (100 * at) / total : 0}%`;
  $("#timeline").setAttribute("aria-valuenow", String(Math.round(at)));
  for (const li of document.querySelectorAll("#chapters li")) li.classList.toggle("past", Number(li.dataset.at) <= at + EPSILON_S);
  replayPointer(at);
}

// A pointer chapter shows its shape over the video for as long as it was shown on the phone.
function replayPointer(at) {
  const shown = POINTER_SHOWN_MS / 1000;
  // (a newer pointer replaces the one before it, as on the phone)
  const mark = state.view.chapters.filter((c) => c.kind === "pointer" && c.pointer && at >= c.at_s - EPSILON_S && at < c.at_s + shown).pop();
  const svg = $("#pointer");
  if (!mark) { svg.classList.add("hidden"); state.shownPointer = null; return; }
  if (state.shownPointer !== mark) { drawPointer(svg, $("#player"), mark.pointer); state.shownPointer = mark; }
  svg.classList.remove("hidden");
}

function label(c) {
  if (c.kind === "checkpoint") return titleOf(c.checkpoint_id) || c.label;
  if (c.kind === "pointer") return t(`rec.shape.${c.pointer?.shape}`);
  if (c.kind === "challenge") {
    const [code, result] = c.label.split(" ");
    return result ? `${code} ${t(`rec.result.${result}`)}` : code;
  }
  if (c.kind === "still" || c.kind === "photo") return titleOf(c.checkpoint_id) || c.label;
  return c.label;
}

function titleOf(id) {
  const cp = state.case?.checkpoints.find((x) => x.id === id);
  return cp ? pick(cp, "title") : "";
}

function render(view) {
  const total = view.duration_s || 1;
  $("#timeline").setAttribute("aria-valuemax", String(Math.round(view.duration_s)));
  $("#timeline").append(
    ...view.segments.map((s, i) => h("div", { class: "seg", dataset: { segment: i }, style: `left:${(100 * s.start_s) / total}%;width:${(100 * s.duration_s) / total}%` })),
    ...view.chapters.map((c) => h("button", {
      class: `mark mark-${c.kind}`, title: `${clock(c.at_s)} ${t(`rec.kind.${c.kind}`)} ${label(c)}`,
      style: `left:${(100 * c.at_s) / total}%`, dataset: { kind: c.kind, at: c.at_s },
      onclick: (e) => { e.stopPropagation(); seek(c.at_s); },
    })));
  $("#chapters").replaceChildren(...view.chapters.map((c) => h("li", { dataset: { kind: c.kind, at: c.at_s } },
    h("button", { class: "link", onclick: () => seek(c.at_s) }, clock(c.at_s)), " ",
    h("span", { class: `badge kind-${c.kind}` }, t(`rec.kind.${c.kind}`)), " ", label(c))));
  $("#downloads").replaceChildren(...view.segments.map((s, i) => h("li", {},
    h("a", { href: s.download_url, download: s.file_name }, s.file_name), " ",
    h("span", { class: "muted" }, `${t("rec.segment")} ${i + 1} · ${clock(s.duration_s)}${s.width ? ` · ${s.width}×${s.height}` : ""}`),
    h("span", { class: "muted" }, ` · ${voices(s).map((v) => v.label).join("、")}`))));
  renderVoices(view);
}

/** Each recorded voice of a segment: its track (lane) and who speaks on it, by name. */
function voices(segment) {
  return segment.audio_tracks.map((lane, i) => {
    const title = segment.audio_titles?.[i] || lane;
    const role = ["applicant", "inspector", "guest"].includes(lane) ? t(`rec.voice.${lane}`) : lane;
    return { lane, title, label: lane === "guest" && title !== lane ? `${role} · ${title}` : role };
  });
}

/** The session's voice tracks, each named once (a new guest is a new voice). */
function renderVoices(view) {
  const seen = new Map();
  for (const s of view.segments) for (const v of voices(s)) seen.set(`${v.lane}:${v.title}`, v);
  $("#voices").replaceChildren(...[...seen.values()].map((v) => h("li", { dataset: { lane: v.lane, title: v.title } }, v.label)));
}

async function load() {
  const view = await api("GET", `/api/live/sessions/${sessionId}/recording`);
  state.view = view;
  const [s, c] = await Promise.all([api("GET", `/api/live/sessions/${sessionId}`), api("GET", `/api/cases/${view.case_id}`)]);
  state.case = c;
  $("#session").replaceChildren(
    h("h2", {}, h("a", { href: `/staff/cases/${c.id}` }, c.reference), " · ", c.applicant_name, " · ", `${t("rec.session")} #${s.id}`),
    h("p", { class: "muted" }, `${fmtTime(s.started_at || s.slot_start)} – ${fmtTime(s.ended_at || s.slot_end)} · `,
      h("span", { class: "badge" }, t(`state.${s.state}`))));
  if (!view.segments.length) { $("#empty").hidden = false; $("#play").disabled = true; state.ready = true; return; }
  render(view);
  seek(0, false);
  state.ready = true;
}

const player = $("#player");
player.addEventListener("loadedmetadata", () => {
  const p = state.pending;
  state.pending = null;
  if (!p) return;
  if (p.into > 0.05) player.currentTime = p.into;
  if (p.play) player.play().catch(() => {});
  tick();
});
player.addEventListener("timeupdate", tick);
player.addEventListener("play", () => { $("#play").textContent = t("rec.pause"); });
player.addEventListener("pause", () => { $("#play").textContent = t("rec.play"); });
player.addEventListener("ended", () => { // on to the next segment: one timeline
  if (state.current + 1 < state.view.segments.length) show(state.current + 1, 0, true);
});
$("#play").addEventListener("click", () => { if (player.paused) player.play().catch(() => {}); else player.pause(); });
$("#timeline").addEventListener("click", (e) => {
  const box = $("#timeline").getBoundingClientRect();
  seek(((e.clientX - box.left) / box.width) * state.view.duration_s);
});
load().catch((err) => showError("#rec-error", err));
