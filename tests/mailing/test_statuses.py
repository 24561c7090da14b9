"""The status rule: forward only, by courier scan time, attention raised and cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from zerotrip.mailing.statuses import RANK, SCANNABLE, TERMINAL, OrderStatus, decide

S = OrderStatus
T0 = datetime(2026, 11, 22, 8, tzinfo=UTC)


def test_forward_moves_apply_and_regressions_do_not():
    assert decide(S.booked, RANK[S.booked], None, S.picked_up, T0).apply
    d = decide(S.in_transit, RANK[S.in_transit], T0, S.picked_up, T0 - timedelta(hours=1))
    assert not d.apply and d.reason == "regression" and d.status == S.in_transit


def test_terminal_stays_except_delivered_to_returned():
    assert decide(S.cancelled, 9, T0, S.delivered, T0).reason == "terminal"
    assert decide(S.delivered, 7, T0, S.returned, T0 + timedelta(days=3)).apply


def test_attention_is_raised_and_cleared_by_a_later_scan_only():
    raised = decide(S.in_transit, RANK[S.in_transit], T0, S.attention, T0 + timedelta(hours=1))
    assert raised.apply and raised.resume_rank == RANK[S.in_transit]
    older = decide(S.attention, raised.resume_rank, T0 + timedelta(hours=1), S.out_for_delivery, T0)
    assert (
        not older.apply
        and older.reason == "stale"
        and older.resume_rank == RANK[S.out_for_delivery]
    )
    later = decide(
        S.attention,
        raised.resume_rank,
        T0 + timedelta(hours=1),
        S.in_transit,
        T0 + timedelta(hours=2),
    )
    assert later.apply and later.status == S.in_transit


scans = st.lists(
    st.tuples(st.sampled_from(sorted(SCANNABLE)), st.integers(min_value=0, max_value=10_000)),
    max_size=40,
)


@seed(20261122)
@settings(max_examples=300, deadline=None)
@given(scans)
def test_no_sequence_of_scans_moves_an_order_backwards(events):
    status, resume, last = S.queued, RANK[S.queued], None
    best = RANK[status]
    for incoming, minute in events:
        at = T0 + timedelta(minutes=minute)
        d = decide(status, resume, last, incoming, at)
        resume = d.resume_rank
        if d.apply:
            status = d.status
            last = max(last or at, at)
        if status != S.attention:
            rank = RANK[status]
            assert rank >= best or (status == S.returned), (events, status)
            best = max(best, rank)
        if status in TERMINAL and status != S.delivered:
            assert not decide(status, resume, last, S.in_transit, at).apply
