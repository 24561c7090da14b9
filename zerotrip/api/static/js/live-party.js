// The second party on every live page: who is in the session (the console's list, the phone's
// privacy notice that a third person watches and listens), the console's invitation of an
// outside expert by a one-time link (create, copy, revoke), and the third party's voice played
// on an audio element of its own (a video element plays only one audio track).
import { api } from "./api.js";
import { $, fmtTime, h, showError } from "./dom.js";
import { addStrings, t } from "./i18n.js";

addStrings({
  "party.title": ["参与人员", "Participants"],
  "party.applicant": ["申请人", "Applicant"],
  "party.inspector": ["检查员", "Inspector"],
  "party.guest": ["第三方专家", "Guest expert"],
  "party.none": ["尚无人加入", "Nobody has joined yet"],
  "party.invite": ["邀请专家", "Invite an expert"],
  "party.invite_name": ["专家姓名", "Expert's name"],
  "party.invite_create": ["生成邀请链接", "Create invitation link"],
  "party.invite_hint": ["链接仅可在一个浏览器中使用一次，本次踏勘结束或到期后失效。", "The link works once, in one browser, and lapses when the session ends or it expires."],
  "party.copy": ["复制链接", "Copy link"],
  "party.copied": ["已复制", "Copied"],
  "party.revoke": ["撤销", "Revoke"],
  "party.expires": ["有效至", "Valid until"],
  "party.state.open": ["待使用", "Not used yet"],
  "party.state.used": ["已使用", "Used"],
  "party.state.revoked": ["已撤销", "Revoked"],
  "party.state.expired": ["已过期", "Expired"],
  "party.join_as_guest": ["以第三方（督导或专家）身份加入", "Join as the second party (supervisor or expert)"],
  "party.third_present": ["第三方正在观看并旁听本次视频踏勘：", "A third person is watching and listening to this inspection: "],
});

/** The label of one present participant: their role, and their name when there is one. */
export function who(p) {
  const role = t(`party.${p.role}`);
  return p.name ? `${role} · ${p.name}` : role;
}

/** The list of who is present (the console, the guest page). */
export function renderParticipants(target, present) {
  const el = $(target);
  el.dataset.roles = present.map((p) => p.role).join(",");
  el.replaceChildren(...(present.length
    ? present.map((p) => h("li", { dataset: { role: p.role } }, h("span", { class: `dot role-${p.role}` }), who(p)))
    : [h("li", { class: "muted" }, t("party.none"))]));
}

/** The phone: a notice, for as long as a third person is present, of who that is. */
export function thirdPartyNotice(target, present) {
  const guest = present.find((p) => p.role === "guest");
  const el = $(target);
  el.classList.toggle("hidden", !guest);
  el.textContent = guest ? `${t("party.third_present")}${guest.name || t("party.guest")}` : "";
}

/** Play an extra received audio track (the third party's voice) on an element of its own. */
export function playExtraVoice(track, id) {
  let el = document.getElementById(id);
  if (!el) {
    el = h("audio", { id, autoplay: true });
    document.body.append(el);
  }
  el.srcObject = new MediaStream([track]);
}

/** The console's invitation card: create a one-time link, list the links, revoke one.
 * Returns its nodes and ``refresh`` (a guest's arrival means a link was used). */
export function invitationPanel(sessionId) {
  const base = `/api/live/sessions/${sessionId}/invitations`;
  const list = h("ul", { class: "invitations", id: "invitations" });
  const name = h("input", { id: "invite-name", maxlength: 60, placeholder: t("party.invite_name") });
  const link = h("p", { class: "mono invite-link hidden", id: "invite-link" });

  async function refresh() {
    const items = await api("GET", base);
    list.replaceChildren(...items.map((i) => h("li", { dataset: { invitation: i.id, state: i.state } },
      h("span", {}, i.name), " ",
      h("span", { class: "badge" }, t(`party.state.${i.state}`)), " ",
      h("span", { class: "muted" }, `${t("party.expires")} ${fmtTime(i.expires_at)}`), " ",
      ["open", "used"].includes(i.state)
        ? h("button", { class: "link revoke", onclick: () => revoke(i.id) }, t("party.revoke")) : "")));
  }

  async function create() {
    const who = name.value.trim();
    if (!who) return;
    try {
      const made = await api("POST", base, { name: who });
      const url = `${location.origin}${made.link}`;
      const copy = h("button", { class: "secondary", id: "invite-copy" }, t("party.copy"));
      copy.addEventListener("click", async () => {
        try { await navigator.clipboard.writeText(url); copy.textContent = t("party.copied"); } catch { /* shown anyway */ }
      });
      link.replaceChildren(h("span", { id: "invite-url" }, url), " ", copy);
      link.classList.remove("hidden");
      name.value = "";
      await refresh();
    } catch (err) { showError("#live-error", err); }
  }

  async function revoke(id) {
    try { await api("POST", `${base}/${id}/revoke`); await refresh(); } catch (err) { showError("#live-error", err); }
  }

  const create_button = h("button", { class: "secondary", id: "invite-create" }, t("party.invite_create"));
  create_button.addEventListener("click", create);
  name.addEventListener("keydown", (e) => { if (e.key === "Enter") create(); });
  refresh().catch(() => {});
  const nodes = [h("h3", {}, t("party.invite")), h("div", { class: "row" }, name, create_button),
    h("p", { class: "muted" }, t("party.invite_hint")), link, list];
  return { nodes, refresh: () => refresh().catch(() => {}) };
}
