// The end of a live session on both pages: what it came to (duration, stills and photos per
// checkpoint, the recording, the challenge codes). The room may still be closing when the page
// learns of the end, so a summary marked "finalizing" is asked for again, a bounded number of times.
import { api } from "./api.js";
import { h } from "./dom.js";
import { addStrings, lang, pick, t } from "./i18n.js";

addStrings({
  "live.summary": ["本次踏勘小结", "Summary of this inspection"],
  "live.duration": ["时长", "Duration"],
  "live.recording_total": ["录像", "Recording"],
  "live.recording_none": ["无录像", "No recording"],
  "live.segments": ["段", "segments"],
  "live.codes": ["验证码", "Challenge codes"],
  "live.codes_none": ["未出示验证码", "No code issued"],
  "live.code.shown": ["已出示", "shown"],
  "live.code.not_shown": ["未出示", "not shown"],
  "live.code.open": ["未判定", "not judged"],
  "live.tick.still": ["截图", "still"],
  "live.tick.photo": ["高清照片", "photo"],
  "live.tick.verdict": ["结论", "verdict"],
  "live.finalizing": ["录像正在保存…", "Saving the recording…"],
  "live.watch": ["观看录像", "Watch the recording"],
  "live.back_to_case": ["返回我的办件", "Back to my application"],
  "live.returning": ["秒后自动返回办件页面", "s until you return to your application"],
  "verdict.pass": ["合格", "Pass"],
  "verdict.fail": ["不合格", "Fail"],
  "verdict.rectify": ["需整改", "Rectify"],
});

/** "12 分 5 秒" / "12 min 5 s". */
export function fmtDuration(seconds) {
  if (seconds == null) return "—";
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (lang === "zh") return m ? `${m} 分 ${rest} 秒` : `${rest} 秒`;
  return m ? `${m} min ${rest} s` : `${rest} s`;
}

/** The summary, asked again while the room is still saving its recording (up to ~30 s). */
export async function loadSummary(sessionId, { attempts = 30, everyMs = 1000 } = {}) {
  let summary = await api("GET", `/api/live/sessions/${sessionId}/summary`);
  for (let i = 1; summary.finalizing && i < attempts; i++) {
    await new Promise((wake) => { setTimeout(wake, everyMs); });
    summary = await api("GET", `/api/live/sessions/${sessionId}/summary`);
  }
  return summary;
}

/** A checkpoint's three ticks as badges: still taken, photo received, verdict given. */
export function ticks(tally) {
  const tick = (key, done, text) => h("span", { class: `tick ${done ? "done" : ""}`, dataset: { tick: key, done: String(done) } },
    `${done ? "✓" : "·"} ${text}`);
  return h("span", { class: "ticks" },
    tick("still", tally.stills > 0, `${t("live.tick.still")}${tally.stills > 1 ? ` ×${tally.stills}` : ""}`),
    tick("photo", tally.photos > 0, `${t("live.tick.photo")}${tally.photos > 1 ? ` ×${tally.photos}` : ""}`),
    tick("verdict", Boolean(tally.verdict), tally.verdict ? t(`verdict.${tally.verdict}`) : t("live.tick.verdict")));
}

/** The summary card's content. */
export function renderSummary(summary) {
  const recording = summary.recording_segments
    ? `${fmtDuration(summary.recording_s)} · ${summary.recording_segments} ${t("live.segments")}`
    : t("live.recording_none");
  const codes = summary.challenges.length
    ? summary.challenges.map((c) => `${c.code} ${t(`live.code.${c.result || "open"}`)}`).join("；")
    : t("live.codes_none");
  return [
    h("h2", {}, t("live.summary")),
    h("dl", { class: "facts" },
      h("dt", {}, t("live.state")), h("dd", { id: "summary-state" }, t(`state.${summary.state}`)),
      h("dt", {}, t("live.duration")), h("dd", { id: "summary-duration" }, fmtDuration(summary.duration_s)),
      h("dt", {}, t("live.recording_total")), h("dd", { id: "summary-recording" }, summary.finalizing ? t("live.finalizing") : recording),
      h("dt", {}, t("live.codes")), h("dd", { id: "summary-codes" }, codes)),
    h("ul", { class: "summary-checkpoints" }, ...summary.checkpoints.map((cp) => h("li", { dataset: { checkpoint: cp.checkpoint_id } },
      h("span", {}, pick(cp, "title")), " ", ticks(cp)))),
  ];
}
