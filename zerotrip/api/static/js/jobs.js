// Work the server runs as a job (report signing, bundle export): ask for it with
// "Prefer: respond-async", then poll the job's URL and show its progress until it is done.
import { api, ApiError } from "./api.js";
import { h } from "./dom.js";
import { addStrings, t } from "./i18n.js";

addStrings({
  "job.queued": ["排队等待中", "Waiting in the queue"],
  "job.running": ["处理中", "Working"],
  "job.gather": ["正在汇集证据与标注", "Gathering evidence and annotations"],
  "job.render": ["正在生成报告", "Rendering the report"],
  "job.store": ["正在保存", "Saving"],
  "job.collect": ["正在打包证据", "Packing the evidence"],
  "job.retrying": ["遇到问题，稍后重试", "A problem occurred; trying again shortly"],
  "job.done": ["已完成", "Done"],
  "job.failed": ["未能完成", "Failed"],
  "job.slow": ["仍在处理中，请稍候", "Still working, please wait"],
});

const POLL_MS = 500;
const GIVE_UP_MS = 10 * 60 * 1000;

/** A progress bar and its line of text; `update(view)` shows a job's state. */
export function jobProgress(id) {
  const bar = h("progress", { max: 100, value: 0, id: `${id}-bar` });
  const text = h("span", { class: "muted", id: `${id}-text`, role: "status" });
  const box = h("div", { class: "job-progress hidden", id }, bar, " ", text);
  return {
    box,
    update(view) {
      box.classList.remove("hidden");
      bar.value = view.progress;
      const step = t(`job.${view.step}`);
      const label = step.startsWith("job.") ? t(`job.${view.state}`) : step;
      text.textContent = `${label} ${view.progress}%`;
    },
  };
}

/** POST `path` as a job; resolves with the finished job view (or the synchronous answer). */
export async function runJob(path, onProgress) {
  let view = await api("POST", path, undefined, { Prefer: "respond-async" });
  const started = Date.now();
  while (view.url && (view.state === "queued" || view.state === "running")) {
    onProgress(view);
    if (Date.now() - started > GIVE_UP_MS) throw new Error(t("job.slow"));
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    view = await api("GET", view.url);
  }
  if (view.state === "failed") throw new ApiError(view.error?.status || 500, view.error || {});
  if (view.state) onProgress(view);
  return view;
}
