"""An outstanding (容缺) document handed in by upload: stored write-once under its SHA-256 in the
evidence storage (the same store, the same key scheme as photos), then recorded on the case.

Documents are not photos of the premises: they get no trust checks and no derived copies, but
they are accepted only as PDF, JPEG or PNG decided from their first bytes (never the name), so
a renamed archive or page is refused before it is stored.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from zerotrip.cases.hand_ins import HandInView, StoredDocument, ensure_outstanding, hand_in
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.media.ingest import store_original
from zerotrip.media.interfaces import Storage
from zerotrip.problems import InvalidInput, UnsupportedMedia

DOCUMENT_TYPES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def document_type(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        raise InvalidInput("The upload is empty.", zh="上传的文件是空的。", code="empty")
    for magic, media_type in DOCUMENT_TYPES:
        if head.startswith(magic):
            return media_type
    raise UnsupportedMedia(
        "Hand in the document as a PDF, JPEG or PNG file.",
        zh="请以 PDF、JPG 或 PNG 文件补交材料（可拍照或扫描）。",
    )


def safe_filename(name: str) -> str:
    """The name shown to staff: no path, no control characters, at most 200 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200]


async def hand_in_upload(
    db: Database,
    storage: Storage,
    *,
    case_id: int,
    material_code: str,
    path: Path,
    digest: tuple[str, int],
    filename: str,
    actor: Actor,
    now: datetime,
) -> HandInView:
    """Check, store and record one uploaded document; the file at ``path`` is removed."""
    try:
        media_type = await asyncio.to_thread(document_type, path)
        await ensure_outstanding(db, case_id, material_code)
        sha, size = digest
        await store_original(storage, sha, path)
        return await hand_in(
            db,
            case_id,
            material_code,
            document=StoredDocument(
                sha256=sha, size=size, media_type=media_type, filename=safe_filename(filename)
            ),
            actor=actor,
            now=now,
        )
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
