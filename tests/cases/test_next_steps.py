"""The applicant's "下一步" list, decided from the case state and the journey's facts (no page,
no database): what is asked when, and that photos are not invited before pre-review."""

from __future__ import annotations

from datetime import UTC, date, datetime

from zerotrip.cases.models import Case, CaseMaterial, Checkpoint
from zerotrip.cases.next_steps import JourneyFacts, next_steps
from zerotrip.cases.schemas import CaseFile

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _file(state: str, *, outstanding: bool = False, round2: bool = False, confirmed=False):
    case = Case(
        id=1,
        reference="ZT1",
        matter_code="food-business",
        state=state,
        applicant_name="李娜",
        premises_address="文三路 90 号",
        submitted_at=NOW,
        updated_at=NOW,
        delivery_confirmed_at=NOW if confirmed else None,
    )
    materials = [
        CaseMaterial(
            case_id=1,
            code="staff-health-certs",
            name_zh="从业人员健康证明",
            name_en="Staff health certificates",
            status="outstanding" if outstanding else "received",
            due_date=date(2026, 12, 11) if outstanding else None,
        ),
        CaseMaterial(
            case_id=1,
            code="business-licence",
            name_zh="营业执照",
            name_en="Licence",
            status="received",
        ),
    ]
    checkpoints = [
        Checkpoint(id=10, case_id=1, code="sink", title_zh="洗手池", title_en="Sink"),
        Checkpoint(
            id=11,
            case_id=1,
            code="storage",
            title_zh="仓储",
            title_en="Storage",
            round=2 if round2 else 1,
        ),
        Checkpoint(
            id=12, case_id=1, code="identity", title_zh="远程核验", title_en="ID", restricted=True
        ),
    ]
    return CaseFile(case, materials, checkpoints)


def kinds(result) -> list[str]:
    return [s.kind for s in result.steps]


def test_before_prereview_nothing_to_photograph_yet():
    result = next_steps(_file("submitted"), JourneyFacts())
    assert kinds(result) == ["wait_prereview"]
    assert result.inspection == "pending"
    assert "take_photos" not in kinds(result)


def test_returned_asks_to_correct_and_resubmit():
    assert kinds(next_steps(_file("returned"), JourneyFacts())) == ["resubmit"]


def test_after_acceptance_material_pickup_photos_and_address_in_that_order():
    facts = JourneyFacts(pickup_order_id=7, photographed=frozenset({10}))
    result = next_steps(_file("accepted", outstanding=True), facts)
    assert kinds(result) == ["supply_material", "book_pickup", "take_photos", "confirm_address"]
    supply, pickup, photos, _ = result.steps
    assert supply.due == date(2026, 12, 11) and supply.section == "materials"
    assert [i.name_zh for i in supply.items] == ["从业人员健康证明"]
    assert pickup.ref == 7 and pickup.section == "mailing"
    assert [i.code for i in photos.items] == ["storage"]  # the sink is photographed already
    assert result.inspection == "photos"
    assert "materials" not in result.done_sections and "live-sessions" in result.done_sections


def test_a_booked_live_session_replaces_the_photo_request():
    at = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    facts = JourneyFacts(live_session_id=3, live_session_at=at)
    result = next_steps(_file("accepted", confirmed=True), facts)
    assert kinds(result) == ["join_inspection"]
    assert result.steps[0].at == at and result.steps[0].ref == 3
    assert result.inspection == "live"


def test_a_handed_in_material_is_no_longer_asked_for():
    facts = JourneyFacts(
        handed_in=frozenset({"staff-health-certs"}), photographed=frozenset({10, 11})
    )
    result = next_steps(_file("inspecting", outstanding=True, confirmed=True), facts)
    assert kinds(result) == []
    assert "materials" in result.done_sections


def test_rectifying_lists_only_the_reopened_checkpoints():
    result = next_steps(_file("rectifying", round2=True, confirmed=True), JourneyFacts())
    assert kinds(result) == ["redo_checkpoints"]
    assert [i.code for i in result.steps[0].items] == ["storage"]


def test_address_not_asked_when_collecting_in_person_or_after_issuance():
    self_collect = JourneyFacts(delivery_by_courier=False, photographed=frozenset({10, 11}))
    assert kinds(next_steps(_file("inspected"), self_collect)) == []
    assert kinds(next_steps(_file("certificate_issued"), JourneyFacts())) == []
    assert kinds(next_steps(_file("approved"), JourneyFacts())) == ["confirm_address"]


def test_rating_is_asked_once_the_service_is_done():
    facts = JourneyFacts(rateable=("prereview",), photographed=frozenset({10, 11}))
    result = next_steps(_file("inspecting", confirmed=True), facts)
    assert kinds(result) == [] and "rating-card" in result.done_sections


def test_rating_comes_last_and_done_inspection():
    result = next_steps(_file("delivered"), JourneyFacts(rateable=("delivery",)))
    assert kinds(result) == ["rate"]
    assert result.inspection == "done"


def test_mailing_stays_open_while_parcels_move_and_for_the_certificate():
    quiet = next_steps(_file("inspected", confirmed=True), JourneyFacts(photographed=frozenset()))
    assert "mailing" in quiet.done_sections
    moving = JourneyFacts(orders_in_progress=True)
    assert "mailing" not in next_steps(_file("inspected", confirmed=True), moving).done_sections
    assert "mailing" not in next_steps(_file("delivered"), JourneyFacts()).done_sections
