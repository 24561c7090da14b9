// What both live pages share: the signalling socket (credential sent as the first message,
// never in the URL), offer/answer with a server that does not trickle, connection quality from
// getStats, and the live strings in Chinese and English.
import { addStrings, lang, t } from "./i18n.js";

addStrings({
  "q.lost": ["丢包 {n}", "lost {n}"],
  "q.rtt": ["往返 {n} 毫秒", "rtt {n} ms"],
  "q.limited.cpu": ["受限：手机性能", "limited by CPU"],
  "q.limited.bandwidth": ["受限：网络带宽", "limited by bandwidth"],
  "q.limited.other": ["受限", "limited"],
  "q.server": ["收 {in} 帧 · 发 {out} 帧 · 丢弃 {dropped}", "in {in} · out {out} · dropped {dropped}"],
  "live.title": ["远程视频踏勘", "Live video inspection"],
  "live.console": ["视频踏勘控制台", "Live inspection console"],
  "live.slot": ["预约时间", "Booked time"],
  "live.state": ["状态", "State"],
  "live.join": ["加入视频踏勘", "Join the video inspection"],
  "live.leave": ["离开", "Leave"],
  "live.end": ["结束踏勘", "End the inspection"],
  "live.ready": ["准备检查", "Readiness check"],
  "live.ready_run": ["开始检查", "Run the check"],
  "live.ready_intro": ["开始前请检查手机的摄像头、麦克风、定位和网络。", "Before the session, check your phone's camera, microphone, location and network."],
  "live.camera": ["摄像头", "Camera"],
  "live.mic": ["麦克风", "Microphone"],
  "live.location": ["定位", "Location"],
  "live.network": ["网络", "Network"],
  "live.ok": ["正常", "OK"],
  "live.problem": ["需处理", "Needs attention"],
  "live.fix_time": ["定位时间", "Fix time"],
  "live.advice.camera": ["请允许本页使用摄像头（浏览器地址栏的权限设置），并关闭其他正在使用摄像头的应用。", "Allow this page to use the camera (site permissions in the address bar) and close other apps using it."],
  "live.advice.mic": ["请允许本页使用麦克风。", "Allow this page to use the microphone."],
  "live.advice.location": ["请在手机设置中打开定位，并允许本页获取位置。踏勘需要确认您在经营场所。", "Turn on location and allow this page to use it: the inspection confirms you are at the premises."],
  "live.advice.network": ["网络较慢。请靠近 Wi-Fi 路由器或换到信号更好的位置。", "The connection is slow. Move closer to the Wi-Fi router or somewhere with better signal."],
  "live.advice.offline": ["无法连接到服务器，请检查网络。", "Cannot reach the server; check your connection."],
  "live.waiting_inspector": ["等待检查员加入…", "Waiting for the inspector to join…"],
  "live.waiting_applicant": ["等待申请人加入…", "Waiting for the applicant to join…"],
  "live.connected": ["已连接", "Connected"],
  "live.peer_left": ["对方已断开，可在时限内重新加入", "The other side dropped; they can rejoin for a while"],
  "live.ended": ["踏勘已结束", "The inspection has ended"],
  "live.challenge": ["请把这个验证码写在纸上，举到镜头前", "Write this code on paper and hold it up to the camera"],
  "live.still_taken": ["检查员拍摄了一张照片", "The inspector took a picture"],
  "live.photo_taking": ["正在拍摄高清照片…", "Taking a full-resolution photo…"],
  "live.photo_sent": ["照片已上传", "Photo uploaded"],
  "live.photo": ["高清照片", "Full-res photo"],
  "live.prompt": ["检查员提示", "Inspector's request"],
  "live.send_prompt": ["发送提示", "Send prompt"],
  "live.prompt_placeholder": ["例如：请对准洗手池", "e.g. Point at the hand-washing sink"],
  "live.capture": ["截取画面", "Capture still"],
  "live.ask_photo": ["请申请人拍高清照", "Ask for a full-res photo"],
  "live.checkpoints": ["检查项", "Checkpoints"],
  "live.controls": ["远程控制", "Remote control"],
  "live.switch_camera": ["切换摄像头", "Switch camera"],
  "live.torch": ["手电筒", "Torch"],
  "live.zoom": ["变焦", "Zoom"],
  "live.did.switch_camera": ["检查员切换了摄像头", "The inspector switched cameras"],
  "live.did.torch_on": ["检查员打开了手电筒", "The inspector turned the torch on"],
  "live.did.torch_off": ["检查员关闭了手电筒", "The inspector turned the torch off"],
  "live.did.zoom": ["检查员调整了变焦", "The inspector changed the zoom"],
  "live.no_controls": ["申请人的手机不支持远程控制", "The applicant's phone supports no remote controls"],
  "live.presence": ["到场核验", "Proof of presence"],
  "live.distance": ["距经营场所", "Distance to premises"],
  "live.accuracy": ["定位精度", "Accuracy"],
  "live.no_fix": ["尚未收到定位", "No location yet"],
  "live.issue_code": ["出示验证码", "Issue a challenge code"],
  "live.code_shown": ["已出示", "Shown"],
  "live.code_not_shown": ["未出示", "Not shown"],
  "live.quality": ["连接质量", "Connection quality"],
  "live.here": ["本端", "This end"],
  "live.phone": ["申请人手机", "Applicant's phone"],
  "live.server": ["服务器", "Server"],
  "live.stills": ["截图与照片", "Stills and photos"],
  "live.book": ["预约视频踏勘", "Book a live inspection"],
  "live.start": ["开始时间", "Start"],
  "live.minutes": ["时长（分钟）", "Duration (minutes)"],
  "live.open_console": ["打开控制台", "Open console"],
  "live.cancel": ["取消", "Cancel"],
  "live.confirm_cancel": ["取消这次视频踏勘？申请人将看到已取消。", "Cancel this live inspection? The applicant will see it cancelled."],
  "live.confirm_end": ["结束这次正在进行的视频踏勘？", "End this live inspection while it is running?"],
  "live.sessions": ["视频踏勘", "Live inspections"],
  "live.none": ["尚未预约", "None booked"],
  "live.recording": ["录像片段已保存", "Recording segment stored"],
  "live.talk": ["对讲", "Talk back"],
  "state.scheduled": ["已预约", "Scheduled"],
  "state.waiting": ["等待中", "Waiting"],
  "state.live": ["进行中", "Live"],
  "state.interrupted": ["已中断", "Interrupted"],
  "state.ended": ["已结束", "Ended"],
  "state.cancelled": ["已取消", "Cancelled"],
});

/** One participant's signalling socket: request/reply by id, and an event per message type. */
export class LiveSocket extends EventTarget {
  constructor(sessionId, token, seat = null) {
    super();
    this.sessionId = sessionId;
    this.token = token;
    this.seat = seat; // "guest": staff joining as the session's second party
    this.pending = new Map();
    this.serial = 0;
  }

  /** Open the socket; a server that does not run this session's room refuses with retry
   * advice (the proxy normally routes to the one that does), so wait and try again. */
  async open(attempts = 6) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.openOnce();
      } catch (err) {
        if (!err.retryAfter || attempt >= attempts) throw err;
        await new Promise((wake) => setTimeout(wake, err.retryAfter * 1000));
      }
    }
  }

  openOnce() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // The page's language (a socket cannot carry Accept-Language): problems come back in it.
    const query = new URLSearchParams({ lang, ...(this.seat ? { seat: this.seat } : {}) });
    this.ws = new WebSocket(`${scheme}://${location.host}/api/live/sessions/${this.sessionId}/ws?${query}`);
    let misdirected = false;
    return new Promise((resolve, reject) => {
      this.ws.onopen = () => { if (this.token) this.ws.send(JSON.stringify({ type: "auth", token: this.token })); };
      this.ws.onmessage = (event) => {
        const msg = JSON.parse(event.data);
        if (msg.type === "welcome") resolve(msg);
        else if (msg.type === "error" && !msg.reply_to && msg.problem === "misdirected") {
          misdirected = true;
          reject(Object.assign(new Error(msg.detail), { retryAfter: msg.retry_after || 1 }));
          return;
        } else if (msg.type === "error" && !msg.reply_to) reject(new Error(msg.detail));
        if (msg.reply_to && this.pending.has(msg.reply_to)) {
          const { ok, fail } = this.pending.get(msg.reply_to);
          this.pending.delete(msg.reply_to);
          (msg.type === "error" ? fail : ok)(msg);
        }
        this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
      };
      this.ws.onclose = (event) => {
        reject(new Error(`closed ${event.code}`));
        if (misdirected) return;  // not a session event: open() tries again
        this.dispatchEvent(new CustomEvent("closed", { detail: { code: event.code } }));
      };
    });
  }

  send(payload) { if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(payload)); }

  request(payload) {
    const id = `m${++this.serial}`;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail: (msg) => fail(Object.assign(new Error(msg.detail), { problem: msg })) });
      this.send({ ...payload, id });
    });
  }

  on(type, fn) { this.addEventListener(type, (e) => fn(e.detail)); }
  close() { this.ws?.close(); }
}

/** Offer, wait for our candidates (the server does not trickle), exchange, return the pc. */
export async function negotiate(pc, socket) {
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000); // enough candidates by now; do not hang on a dead STUN server
    });
  }
  const answer = await socket.request({ type: "offer", sdp: pc.localDescription.sdp });
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
}

/** Bitrate, frame rate, size, loss and RTT of the video from getStats (deltas between calls). */
export class QualityMeter {
  constructor(pc, direction) { this.pc = pc; this.direction = direction; this.last = null; }

  async sample() {
    const report = await this.pc.getStats();
    const kind = this.direction === "in" ? "inbound-rtp" : "outbound-rtp";
    let rtp = null; let remote = null; let pair = null;
    report.forEach((s) => {
      if (s.type === kind && s.kind === "video") rtp = s;
      if (s.type === "remote-inbound-rtp" && s.kind === "video") remote = s;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    if (!rtp) return { video: "none" };
    const bytes = this.direction === "in" ? rtp.bytesReceived : rtp.bytesSent;
    const now = rtp.timestamp;
    // A rate needs two samples: the first one has none (not zero, which would read as a stall).
    const kbps = this.last ? Math.round(((bytes - this.last.bytes) * 8) / (now - this.last.now)) : null;
    this.last = { bytes, now };
    return {
      kbps,
      fps: Math.round(rtp.framesPerSecond || 0),
      width: rtp.frameWidth || 0,
      height: rtp.frameHeight || 0,
      frames: (this.direction === "in" ? rtp.framesDecoded : rtp.framesEncoded) || 0,
      lost: (this.direction === "in" ? rtp.packetsLost : remote?.packetsLost) ?? 0,
      loss: this.direction === "in" ? null : remote?.fractionLost ?? null, // as the far end reported
      estimate_kbps: pair?.availableOutgoingBitrate != null ? Math.round(pair.availableOutgoingBitrate / 1000) : null,
      rtt_ms: pair?.currentRoundTripTime != null ? Math.round(pair.currentRoundTripTime * 1000) : null,
      limited_by: rtp.qualityLimitationReason || null,
      freezes: rtp.freezeCount ?? null,
    };
  }
}

export function describeQuality(q) {
  if (!q || q.video === "none") return "—";
  const parts = [q.kbps == null ? null : `${q.kbps} kbit/s`, `${q.fps} fps`].filter(Boolean);
  if (q.width) parts.push(`${q.width}×${q.height}`);
  if (q.lost != null) parts.push(t("q.lost").replace("{n}", q.lost));
  if (q.rtt_ms != null) parts.push(t("q.rtt").replace("{n}", q.rtt_ms));
  if (q.limited_by && q.limited_by !== "none") {
    const known = ["cpu", "bandwidth"].includes(q.limited_by) ? q.limited_by : "other";
    parts.push(t(`q.limited.${known}`));
  }
  if (q.frames_in != null) {
    const server = t("q.server").replace("{in}", q.frames_in).replace("{out}", q.frames_out)
      .replace("{dropped}", q.dropped);
    parts.splice(0, parts.length, server, (q.codec || "").toUpperCase());
  }
  return parts.filter(Boolean).join(" · ");
}
