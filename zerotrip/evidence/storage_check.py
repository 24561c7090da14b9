"""``zerotrip storage check``: do storage and the database account for each other?

Every original in storage must be an Evidence row's, a handed-in (容缺) document's, or a
refused file's named by an ``evidence.refused`` event on a case's chain; every derived folder
must belong to a stored original; every Evidence row's or document's original must be in
storage. Anything else is listed: an object without a row (an upload that died between storing
and recording), or a row without its object (lost or removed bytes). Nothing is changed:
deciding what to do is an operator's call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlmodel import col, select

from zerotrip.cases.models import AuditEvent, MaterialHandIn
from zerotrip.db import Database
from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import original_key
from zerotrip.media.models import Evidence


@dataclass
class StorageReport:
    objects_without_rows: list[str] = field(default_factory=list)
    rows_without_objects: list[str] = field(default_factory=list)
    originals: int = 0
    rows: int = 0

    @property
    def clean(self) -> bool:
        return not self.objects_without_rows and not self.rows_without_objects

    def lines(self) -> list[str]:
        out = [f"object without row: {key}" for key in sorted(self.objects_without_rows)]
        out += [f"row without object: {row}" for row in sorted(self.rows_without_objects)]
        out.append(
            f"{self.originals} originals, {self.rows} evidence rows: "
            + ("storage and database agree" if self.clean else f"{len(out)} problems")
        )
        return out


async def check_storage(db: Database, storage: Storage) -> StorageReport:
    report = StorageReport()
    async with db.session() as session:
        rows = (await session.exec(select(Evidence.id, Evidence.sha256, Evidence.blob_key))).all()
        refusals = await session.exec(
            select(AuditEvent.payload).where(col(AuditEvent.kind) == "evidence.refused")
        )
        refused = {json.loads(payload).get("sha256") for payload in refusals.all()}
        documents = await session.exec(
            select(MaterialHandIn.id, MaterialHandIn.sha256).where(
                col(MaterialHandIn.sha256).is_not(None)
            )
        )
        handed_in = list(documents.all())
    report.rows = len(rows)
    # Originals are photos and recordings (Evidence rows) and handed-in 容缺 documents.
    recorded = {sha for _, sha, _ in rows} | {sha for _, sha in handed_in}
    originals = {key async for key in storage.keys("originals/")}
    report.originals = len(originals)
    accounted = {original_key(sha) for sha in recorded | refused if isinstance(sha, str)}
    report.objects_without_rows += sorted(originals - accounted)
    kept = {key.rsplit("/", 1)[-1] for key in originals}
    async for key in storage.keys("derived/"):
        if key.split("/")[1] not in kept:
            report.objects_without_rows.append(key)
    report.rows_without_objects += [
        f"evidence {ev_id}: {key}" for ev_id, _, key in rows if key not in originals
    ]
    report.rows_without_objects += [
        f"hand-in {hid}: {original_key(sha)}"
        for hid, sha in handed_in
        if original_key(sha) not in originals
    ]
    return report
