"""The case state machine: every step a case can take, who may take it, and what it requires.

Each action is a function that checks its preconditions against the locked case, changes it, and
returns the audit payload; :func:`perform` runs it inside one write transaction together with the
audit event and the reactions other domains registered on the process's :class:`Lifecycle` (the
certificate, courier orders, notifications, dashboard facts), so a step either happens completely
with its trace and its consequences or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import next_event
from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.inspection_rules import RESULT_ZH, inspection_outcome
from zerotrip.cases.models import Case, CaseState, MaterialStatus, state_name
from zerotrip.cases.step_params import (
    DecisionParams,
    DeliveredParams,
    InspectionResultParams,
    NoteParams,
    PrereviewParams,
    ReceiveMaterialsParams,
    StepParams,
)
from zerotrip.cases.step_writes import write_step
from zerotrip.cases.store import checkpoints_of, lock_case, materials_of
from zerotrip.kit.actor import Actor
from zerotrip.kit.clock import Clock, as_utc
from zerotrip.kit.reactions import Reactions
from zerotrip.problems import Forbidden, IllegalTransition, InvalidInput

S = CaseState
STAFF_DECIDERS = frozenset({"clerk", "admin"})
INSPECTORS = frozenset({"inspector", "admin"})


@dataclass
class StepContext:
    """One step being taken; after the step ran, the event its reactions receive (with the
    audit ``payload`` it recorded), in the same transaction."""

    session: AsyncSession
    case: Case
    actor: Actor
    role: str
    params: Any
    catalogue: Catalogue
    calendar: WorkingCalendar
    today: date
    clock: Clock
    payload: dict[str, Any] = field(default_factory=dict)


StepFn = Callable[[StepContext], Awaitable[dict[str, Any]]]
StepReaction = Callable[[StepContext], Awaitable[None]]


@dataclass(frozen=True)
class Lifecycle:
    """What taking a step needs from the running process: the matters, the working calendar,
    the clock, and the reactions the domains registered (``reactions.on(StepContext, fn,
    topic=action)``; see :meth:`on_step`)."""

    catalogue: Catalogue
    calendar: WorkingCalendar
    clock: Clock
    reactions: Reactions
    # A step's own rows through compiled statements (zerotrip.cases.step_writes); False: the
    # ORM's flush (the same rows; the tests compare both).
    compiled_writes: bool = True

    def on_step(self, action: str, reaction: StepReaction) -> None:
        """Run ``reaction`` inside the transaction of every successful ``action``."""
        if action not in ACTIONS:
            raise ValueError(f"no lifecycle step {action!r}")
        self.reactions.on(StepContext, reaction, topic=action)


@dataclass(frozen=True)
class Action:
    name: str
    sources: frozenset[CaseState]
    roles: frozenset[str]
    params: type[StepParams]
    run: StepFn
    title_en: str
    title_zh: str


# The step table: filled by the ``@_action`` declarations below while this module is imported,
# never changed afterwards.
ACTIONS: dict[str, Action] = {}


def _action(
    name: str,
    sources: set[CaseState],
    roles: set[str],
    params: type[StepParams],
    title_en: str,
    title_zh: str,
) -> Callable[[StepFn], StepFn]:
    def register(fn: StepFn) -> StepFn:
        ACTIONS[name] = Action(
            name, frozenset(sources), frozenset(roles), params, fn, title_en, title_zh
        )
        return fn

    return register


def allowed_actions(state: str, role: str) -> list[str]:
    return [a.name for a in ACTIONS.values() if state in a.sources and role in a.roles]


def _move(ctx: StepContext, target: CaseState) -> dict[str, Any]:
    before = ctx.case.state
    ctx.case.state = target
    return {"from": before, "to": target.value}


@_action("prereview", {S.submitted}, STAFF_DECIDERS, PrereviewParams, "Pre-review", "预审")
async def _prereview(ctx: StepContext) -> dict[str, Any]:
    p: PrereviewParams = ctx.params
    materials = {m.code: m for m in await materials_of(ctx.session, ctx.case.id)}
    if p.outcome == "return":
        if not p.reasons:
            raise InvalidInput(
                "Returning an application needs at least one reason.",
                zh="退回申请需填写至少一条原因。",
            )
        ctx.case.return_reasons = p.reasons
        return {**_move(ctx, S.returned), "reasons": p.reasons, "note": p.note}
    outstanding: list[dict[str, str]] = []
    for item in p.outstanding:
        material = materials.get(item.code)
        if material is None:
            raise InvalidInput(
                f"The matter lists no material {item.code!r}.", zh="该事项没有这项材料。"
            )
        if material.critical:
            raise InvalidInput(
                f"{material.name_en} ({material.name_zh}) is critical and cannot be outstanding.",
                zh=f"“{material.name_zh}”是关键材料，不能容缺受理。",
            )
        if item.due_date <= ctx.today:
            raise InvalidInput(
                f"The due date for {material.name_en} must be in the future.",
                zh=f"“{material.name_zh}”的后补期限须晚于今天。",
            )
        material.status = MaterialStatus.outstanding
        material.due_date = item.due_date
        outstanding.append({"code": item.code, "due_date": item.due_date.isoformat()})
    now = ctx.clock.now()
    for material in materials.values():
        # Electronic copies were checked in pre-review; paper originals still have to arrive.
        if material.status == MaterialStatus.expected and not material.paper_original:
            material.status = MaterialStatus.received
            material.received_at = now
        ctx.session.add(material)
    matter = ctx.catalogue.get(ctx.case.matter_code)
    assert matter is not None
    ctx.case.accepted_at = now
    # The limit the case started with (a later edit of the matter does not move it).
    limit = ctx.case.time_limit_working_days or matter.time_limit_working_days
    ctx.case.deadline = ctx.calendar.add_working_days(ctx.today, limit)
    ctx.case.return_reasons = None
    return {
        **_move(ctx, S.accepted),
        "outstanding": outstanding,
        "deadline": ctx.case.deadline.isoformat(),
        "time_limit_working_days": limit,
        "note": p.note,
    }


@_action(
    "resubmit", {S.returned}, {"applicant", "clerk", "admin"}, NoteParams, "Resubmit", "重新提交"
)
async def _resubmit(ctx: StepContext) -> dict[str, Any]:
    return {**_move(ctx, S.submitted), "note": ctx.params.note}


@_action(
    "receive_materials",
    {S.accepted, S.inspecting, S.rectifying, S.inspected, S.approved},
    STAFF_DECIDERS | {"system"},
    ReceiveMaterialsParams,
    "Receive materials",
    "材料签收",
)
async def _receive_materials(ctx: StepContext) -> dict[str, Any]:
    p: ReceiveMaterialsParams = ctx.params
    materials = {m.code: m for m in await materials_of(ctx.session, ctx.case.id)}
    unknown = [c for c in p.codes if c not in materials]
    if unknown:
        raise InvalidInput(
            f"The matter lists no material {', '.join(unknown)}.", zh="该事项没有所选的材料。"
        )
    now = ctx.clock.now()
    for code in p.codes:
        materials[code].status = MaterialStatus.received
        materials[code].received_at = now
        ctx.session.add(materials[code])
    return {"codes": p.codes, "channel": p.channel, "note": p.note}


@_action("start_inspection", {S.accepted}, INSPECTORS, NoteParams, "Start inspection", "开始踏勘")
async def _start_inspection(ctx: StepContext) -> dict[str, Any]:
    return {**_move(ctx, S.inspecting), "note": ctx.params.note}


@_action(
    "record_inspection",
    {S.inspecting},
    INSPECTORS,
    InspectionResultParams,
    "Record inspection result",
    "记录踏勘结论",
)
async def _record_inspection(ctx: StepContext) -> dict[str, Any]:
    p: InspectionResultParams = ctx.params
    checkpoints = await checkpoints_of(ctx.session, ctx.case.id)
    expected = inspection_outcome(c.verdict for c in checkpoints)
    if expected is None:
        raise InvalidInput(
            "Every checkpoint needs a verdict before the result is recorded.",
            zh="每个踏勘要点都给出结论后，才能记录踏勘结论。",
            missing=[c.code for c in checkpoints if c.verdict is None],
        )
    if p.result != expected:
        raise InvalidInput(
            f"The checkpoint verdicts make the result {expected!r}, not {p.result!r}.",
            zh=f"按各要点的结论，踏勘结论应为“{RESULT_ZH[expected]}”，而不是“{RESULT_ZH[p.result]}”。",
            expected=expected,
        )
    if p.result == "rectify":
        # A new round for what did not pass: the applicant re-submits evidence for exactly these.
        reopened = []
        for cp in checkpoints:
            if cp.verdict in ("fail", "rectify"):
                cp.round += 1
                cp.verdict, cp.verdict_by, cp.verdict_at = None, None, None
                ctx.session.add(cp)
                reopened.append({"checkpoint": cp.code, "round": cp.round})
        ctx.case.clock_paused_at = ctx.clock.now()
        return {
            **_move(ctx, S.rectifying),
            "result": p.result,
            "comment": p.comment,
            "reopened": reopened,
        }
    ctx.case.inspection_result = p.result
    return {**_move(ctx, S.inspected), "result": p.result, "comment": p.comment}


@_action(
    "resume_inspection",
    {S.rectifying},
    INSPECTORS | {"applicant"},
    NoteParams,
    "Resume after rectification",
    "整改后恢复踏勘",
)
async def _resume_inspection(ctx: StepContext) -> dict[str, Any]:
    paused_days = 0
    if ctx.case.clock_paused_at and ctx.case.deadline:
        paused_on = as_utc(ctx.case.clock_paused_at).astimezone(ctx.clock.zone).date()
        paused_days = ctx.calendar.working_days_between(paused_on, ctx.today)
        ctx.case.deadline = ctx.calendar.add_working_days(ctx.case.deadline, paused_days)
    ctx.case.clock_paused_at = None
    return {
        **_move(ctx, S.inspecting),
        "paused_working_days": paused_days,
        "deadline": ctx.case.deadline.isoformat() if ctx.case.deadline else None,
        "note": ctx.params.note,
    }


@_action("approve", {S.inspected}, STAFF_DECIDERS, DecisionParams, "Approve", "准予许可")
async def _approve(ctx: StepContext) -> dict[str, Any]:
    if ctx.case.inspection_result != "pass":
        raise IllegalTransition(
            "Only a case whose inspection passed can be approved.",
            zh="只有踏勘通过的办件才能准予许可。",
            state=ctx.case.state,
            allowed=allowed_actions(ctx.case.state, ctx.role),
        )
    waiting = [
        m
        for m in await materials_of(ctx.session, ctx.case.id)
        if m.required and m.status != MaterialStatus.received
    ]
    pending = [m.code for m in waiting]
    if pending:
        raise IllegalTransition(
            "Materials are still outstanding or on their way: "
            + ", ".join(m.name_en for m in waiting)
            + ".",
            zh="以下材料尚未签收（容缺后补或在途）："
            + "、".join(m.name_zh for m in waiting)
            + "。",
            state=ctx.case.state,
            allowed=allowed_actions(ctx.case.state, ctx.role),
            pending_materials=pending,
        )
    ctx.case.decision = "approved"
    return {**_move(ctx, S.approved), "note": ctx.params.note}


@_action("reject", {S.accepted, S.inspected}, STAFF_DECIDERS, DecisionParams, "Reject", "不予许可")
async def _reject(ctx: StepContext) -> dict[str, Any]:
    if not ctx.params.reasons:
        raise InvalidInput(
            "A rejection needs at least one reason.", zh="不予许可需填写至少一条理由。"
        )
    ctx.case.decision = "rejected"
    return {**_move(ctx, S.rejected), "reasons": ctx.params.reasons, "note": ctx.params.note}


@_action(
    "issue_certificate",
    {S.approved},
    STAFF_DECIDERS,
    NoteParams,
    "Issue certificate",
    "制发证照",
)
async def _issue_certificate(ctx: StepContext) -> dict[str, Any]:
    return {**_move(ctx, S.certificate_issued), "note": ctx.params.note}


@_action(
    "mark_delivered",
    {S.certificate_issued},
    STAFF_DECIDERS | {"system"},
    DeliveredParams,
    "Mark delivered",
    "确认送达",
)
async def _mark_delivered(ctx: StepContext) -> dict[str, Any]:
    return {**_move(ctx, S.delivered), "method": ctx.params.method, "note": ctx.params.note}


@_action(
    "close", {S.delivered, S.rejected, S.returned}, STAFF_DECIDERS, NoteParams, "Close", "办结归档"
)
async def _close(ctx: StepContext) -> dict[str, Any]:
    ctx.case.closed_at = ctx.clock.now()
    return {**_move(ctx, S.closed), "note": ctx.params.note}


@_action(
    "withdraw",
    {S.submitted, S.returned, S.accepted},
    {"applicant", "clerk", "admin"},
    NoteParams,
    "Withdraw",
    "撤回申请",
)
async def _withdraw(ctx: StepContext) -> dict[str, Any]:
    ctx.case.closed_at = ctx.clock.now()
    return {**_move(ctx, S.withdrawn), "note": ctx.params.note}


def parse_params(action_name: str, body: dict[str, Any]) -> Any:
    action = ACTIONS.get(action_name)
    if action is None:
        raise InvalidInput(
            f"Unknown action {action_name!r}.",
            zh=f"没有“{action_name}”这项操作。",
            known=sorted(ACTIONS),
        )
    return action.params.model_validate(body)


async def perform(
    session: AsyncSession,
    case_id: int,
    action_name: str,
    params: Any,
    *,
    actor: Actor,
    role: str,
    lifecycle: Lifecycle,
) -> Case:
    """Take one step on a case inside the caller's write transaction, with its reactions."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise InvalidInput(
            f"Unknown action {action_name!r}.",
            zh=f"没有“{action_name}”这项操作。",
            known=sorted(ACTIONS),
        )
    case = await lock_case(session, case_id)
    if role not in action.roles:
        raise Forbidden(
            f"A {role} cannot {action.title_en.lower()}.", zh=f"您无权进行“{action.title_zh}”。"
        )
    if case.state not in action.sources:
        raise IllegalTransition(
            f"Cannot {action.title_en.lower()} a case that is {state_name(case.state, 'en')}.",
            zh=f"办件当前为“{state_name(case.state)}”，不能进行“{action.title_zh}”。",
            state=case.state,
            allowed=allowed_actions(case.state, role),
        )
    clock = lifecycle.clock
    ctx = StepContext(
        session,
        case,
        actor,
        role,
        params,
        lifecycle.catalogue,
        lifecycle.calendar,
        clock.today(),
        clock,
    )
    ctx.payload = await action.run(ctx)
    case.updated_at = clock.now()
    event = next_event(case, actor, f"case.{action.name}", ctx.payload, case.updated_at)
    await write_step(session, case, event, compiled=lifecycle.compiled_writes)
    await lifecycle.reactions.emit(ctx, topic=action.name)
    return case
