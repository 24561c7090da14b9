"""The step-down rules (zerotrip.live.link): from readings of both ends to at most one change,
with hysteresis. Readings are what the room feeds the judge each second; time is given, not
waited for."""

from __future__ import annotations

from zerotrip.live.link import AUDIO_PHOTOS, VIDEO, LinkJudge, LinkRules, Reading

RULES = LinkRules(
    down_kbps=250, down_loss=0.10, down_after_s=2, up_kbps=1000, up_after_s=6, warm_up_s=5
)


def feed_video(judge: LinkJudge, start: float, seconds: int, **figures: object) -> list:
    """One reading a second; the transitions that came out."""
    out = []
    for i in range(seconds):
        change = judge.feed(Reading(at=start + i, **figures))  # type: ignore[arg-type]
        if change is not None:
            out.append((start + i, change))
    return out


def test_good_video_and_still_scenes_never_step_down() -> None:
    judge = LinkJudge(RULES)
    assert feed_video(judge, 0, 30, server_kbps=1800, phone_kbps=1900, phone_loss=0.0) == []
    # A still scene sends little, but its encoder is not short of bandwidth: still usable.
    assert feed_video(judge, 30, 30, server_kbps=80, phone_kbps=90, phone_limited=False) == []
    assert judge.mode == VIDEO


def test_low_bitrate_when_bandwidth_limited_steps_down_after_the_hold_time() -> None:
    judge = LinkJudge(RULES)
    feed_video(judge, 0, 10, server_kbps=1500, phone_kbps=1500)
    changes = feed_video(judge, 10, 10, server_kbps=120, phone_kbps=140, phone_limited=True)
    assert len(changes) == 1
    at, change = changes[0]
    assert (change.mode, change.reason) == (AUDIO_PHOTOS, "low_bitrate")
    assert at - 10 == RULES.down_after_s  # bad at 10, 11, 12: changed at the third reading
    assert change.figures["kbps"] == 120
    assert judge.mode == AUDIO_PHOTOS


def test_video_that_does_not_arrive_steps_down_though_the_phone_is_not_limited() -> None:
    # Seen on a shaped link: the phone's encoder says nothing, but the server receives nothing.
    judge = LinkJudge(RULES)
    feed_video(judge, 0, 8, server_kbps=220, phone_kbps=240)
    changes = feed_video(judge, 8, 4, server_kbps=0, phone_kbps=45, phone_limited=False)
    assert [(c.mode, c.reason) for _, c in changes] == [(AUDIO_PHOTOS, "low_bitrate")]


def test_a_busy_server_reading_late_is_not_a_weak_link() -> None:
    """A starved server process counts few bytes in a second, but what arrives has no gaps:
    the packets were late, not lost (seen with two browsers and the app on two busy cores)."""
    judge = LinkJudge(RULES)
    feed_video(judge, 0, 8, server_kbps=600, server_loss=0.0, phone_kbps=620)
    late = {"server_kbps": 20, "server_loss": 0.0, "phone_kbps": 340, "phone_limited": False}
    assert feed_video(judge, 8, 10, **late) == []
    # The same shortfall with gaps in what arrived is the link losing it.
    lossy = {**late, "server_loss": 0.04}
    changes = feed_video(judge, 18, 4, **lossy)
    assert [(c.mode, c.reason) for _, c in changes] == [(AUDIO_PHOTOS, "low_bitrate")]


def test_a_phone_short_of_cpu_is_not_a_weak_link() -> None:
    """A busy phone encodes few frames and its congestion control, delayed by the same busy
    CPU, may estimate little; it says so (``qualityLimitationReason: cpu``). Loss still counts."""
    judge = LinkJudge(RULES)
    feed_video(judge, 0, 10, server_kbps=900, phone_kbps=900, phone_estimate_kbps=2000)
    busy = {"server_kbps": 60, "phone_kbps": 55, "phone_estimate_kbps": 140}
    assert feed_video(judge, 10, 10, phone_cpu_bound=True, **busy) == []
    changes = feed_video(judge, 20, 4, phone_cpu_bound=True, server_loss=0.2, **busy)
    assert [(c.mode, c.reason) for _, c in changes] == [(AUDIO_PHOTOS, "packet_loss")]


def test_a_low_bandwidth_estimate_steps_down_a_still_scene_does_not() -> None:
    judge = LinkJudge(RULES)
    feed_video(judge, 0, 8, server_kbps=900, phone_kbps=900, phone_estimate_kbps=2500)
    assert feed_video(judge, 8, 10, server_kbps=60, phone_kbps=60, phone_estimate_kbps=2400) == []
    changes = feed_video(judge, 18, 4, server_kbps=60, phone_kbps=55, phone_estimate_kbps=140)
    assert [(c.mode, c.reason) for _, c in changes] == [(AUDIO_PHOTOS, "low_bitrate")]


def test_a_ramp_up_limited_by_bandwidth_with_a_fair_estimate_is_not_judged() -> None:
    # A new call under load: Chrome's encoder says "bandwidth" while its estimate ramps up.
    judge = LinkJudge(RULES)
    ramp = {"server_kbps": 180, "phone_kbps": 200, "phone_limited": True}
    assert feed_video(judge, 0, 20, phone_estimate_kbps=320, **ramp) == []
    assert judge.mode == VIDEO


def test_loss_from_either_end_steps_down_and_is_the_reason_given() -> None:
    judge = LinkJudge(RULES)
    feed_video(judge, 0, 6, server_kbps=1500)
    changes = feed_video(judge, 6, 4, server_kbps=900, server_loss=0.02, phone_loss=0.25)
    assert [c.reason for _, c in changes] == ["packet_loss"]
    assert changes[0][1].figures["loss"] == 0.25


def test_low_bitrate_without_the_phones_word_is_not_judged_loss_is() -> None:
    judge = LinkJudge(RULES)
    assert feed_video(judge, 0, 20, server_kbps=90) == []  # a still scene, or no stats sent
    changes = feed_video(judge, 20, 4, server_kbps=90, server_loss=0.3)
    assert [c.reason for _, c in changes] == ["packet_loss"]


def test_a_short_dip_does_not_step_down() -> None:
    judge = LinkJudge(RULES)
    feed_video(judge, 0, 6, server_kbps=1500)
    for at in (6, 9, 12):  # one bad second at a time, good between
        assert judge.feed(Reading(at=at, server_kbps=50, phone_limited=True, phone_kbps=60)) is None
        assert judge.feed(Reading(at=at + 1, server_kbps=1500, phone_kbps=1500)) is None
    assert judge.mode == VIDEO


def test_ramp_up_of_a_new_stream_is_not_judged() -> None:
    judge = LinkJudge(RULES)
    judge.video_restarted(0)
    assert feed_video(judge, 0, 5, server_kbps=100, phone_kbps=100, phone_limited=True) == []
    judge.video_restarted(5)  # a reconnect: again not judged for a while
    assert feed_video(judge, 5, 5, server_kbps=100, phone_kbps=100, phone_limited=True) == []


def stepped_down() -> LinkJudge:
    judge = LinkJudge(RULES)
    feed_video(judge, 0, 6, server_kbps=1500)
    feed_video(judge, 6, 3, server_kbps=50, phone_limited=True, phone_kbps=60)
    assert judge.mode == AUDIO_PHOTOS
    return judge


def test_back_to_video_only_after_fast_probes_for_the_up_time() -> None:
    judge = stepped_down()
    changed = judge.changed_at
    # Probes just above the step-down bitrate are not a recovery (hysteresis).
    for i in range(10):
        assert judge.feed(Reading(at=changed + 1 + 2 * i, probe_kbps=400)) is None
    start = changed + 30
    got = []
    for i in range(6):
        change = judge.feed(Reading(at=start + 2 * i, probe_kbps=5000, server_loss=0.0))
        if change is not None:
            got.append((start + 2 * i, change))
    assert len(got) == 1
    at, change = got[0]
    assert (change.mode, change.reason) == (VIDEO, "recovered")
    assert at - start == RULES.up_after_s
    assert change.figures["kbps"] == 5000


def test_one_slow_probe_restarts_the_recovery_count() -> None:
    judge = stepped_down()
    t = judge.changed_at + 10
    assert judge.feed(Reading(at=t, probe_kbps=5000)) is None
    assert judge.feed(Reading(at=t + 4, probe_kbps=5000)) is None
    assert judge.feed(Reading(at=t + 5, probe_kbps=300)) is None  # slow: start again
    assert judge.feed(Reading(at=t + 8, probe_kbps=5000)) is None  # good again from here
    assert judge.feed(Reading(at=t + 12, probe_kbps=5000)) is None
    assert judge.feed(Reading(at=t + 14, probe_kbps=5000)) is not None
    assert judge.mode == VIDEO


def test_audio_loss_while_paused_restarts_the_recovery_count() -> None:
    judge = stepped_down()
    t = judge.changed_at + 10
    judge.feed(Reading(at=t, probe_kbps=5000))
    judge.feed(Reading(at=t + 3, server_loss=0.3))  # the audio is losing packets
    assert judge.feed(Reading(at=t + 6, probe_kbps=5000)) is None
    assert judge.mode == AUDIO_PHOTOS


def test_video_readings_while_paused_and_probes_while_video_change_nothing() -> None:
    judge = stepped_down()
    t = judge.changed_at
    assert feed_video(judge, t + 1, 20, server_kbps=3000, phone_kbps=3000) == []
    assert judge.mode == AUDIO_PHOTOS
    fresh = LinkJudge(RULES)
    assert fresh.feed(Reading(at=100, probe_kbps=10)) is None
    assert fresh.mode == VIDEO
