"""S3-compatible object storage (AWS S3, SeaweedFS, MinIO, Ceph RGW) over aiobotocore.

Why aiobotocore: it runs on aiohttp, which the service already uses, so an S3 call is one more
coroutine on the same loop with no thread per request; it is botocore underneath, so signing,
retries, regions and every S3 operation (multipart, conditional writes, presigning) are the
reference implementation's. aioboto3 only adds a resource layer we do not need; obstore would
bring a second HTTP stack (Rust) and hides the multipart steps we want to control.

The contract is the local backend's (``tests/media/test_storage_contract.py``):

* originals are write-once even between machines: the write is conditional
  (``If-None-Match: *``) on ``PutObject`` and on ``CompleteMultipartUpload``, so of two concurrent
  writers of one key exactly one wins, and the loser's bytes never become visible;
* an object appears whole or not at all: S3 publishes an object only when its upload completes,
  and a failed multipart upload is aborted so no parts are left behind;
* files above ``s3_part_size_mb`` go in parts read from disk one at a time (bounded memory);
  reads stream in chunks; ``presigned_url`` lets a proxy or browser fetch directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from zerotrip.config import Settings
from zerotrip.media.keys import discardable

_MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
CLAIM_STALE_S = 600.0  # a multipart claim older than this was left by a writer that died
CLAIM_POLL_S = 0.2
_MISSING = {"404", "NoSuchKey", "NotFound"}
_LOST_RACE = {"PreconditionFailed", "412"}
_IN_FLIGHT = {"ConditionalRequestConflict", "409"}  # another conditional write is under way


class StorageUnavailable(OSError):
    """The object store did not answer or refused (network, credentials, bucket): an I/O error
    like a full or unmounted disk would be, so callers need not know botocore."""


@contextlib.asynccontextmanager
async def _as_io_errors(key: str) -> AsyncIterator[None]:
    try:
        yield
    except ClientError as exc:
        if _code(exc) in _MISSING | _LOST_RACE | _IN_FLIGHT:
            raise
        raise StorageUnavailable(f"{key}: the object store refused: {exc}") from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(f"{key}: the object store is unreachable: {exc}") from exc


class S3Storage:
    """One bucket (and key prefix) of an S3-compatible service.

    The client is opened lazily on the running loop (an aiohttp session belongs to one loop)
    and closed by :meth:`aclose`.
    """

    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self.part_size = max(_MIN_PART, settings.s3_part_size_mb * 1024 * 1024)
        self.presign_seconds = settings.s3_presign_seconds
        self.claim_stale_s = CLAIM_STALE_S
        self._client_args: dict[str, Any] = {
            "service_name": "s3",
            "region_name": settings.s3_region,
            "endpoint_url": settings.s3_endpoint_url or None,
            "aws_access_key_id": settings.s3_access_key_id or None,
            "aws_secret_access_key": settings.s3_secret_access_key or None,
            "config": Config(
                s3={"addressing_style": settings.s3_addressing_style},
                signature_version="s3v4",  # presigned URLs too (botocore's default there is v2)
                max_pool_connections=settings.s3_max_connections,
                connect_timeout=10,
                read_timeout=60,
                retries={"mode": "standard", "max_attempts": 4},
                # Only send checksums S3 requires: older S3-compatible servers reject the
                # trailing CRC32 headers newer botocore adds to every upload.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        }
        self._client: Any = None
        self._exit = contextlib.AsyncExitStack()
        self._opening = asyncio.Lock()

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    creator = AioSession().create_client(**self._client_args)
                    self._client = await self._exit.enter_async_context(creator)
        return self._client

    async def aclose(self) -> None:
        await self._exit.aclose()
        self._client = None

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.prefix + key

    def local_path(self, key: str) -> Path | None:
        self._key(key)
        return None

    async def put_file(self, key: str, source: Path) -> bool:
        object_key = self._key(key)
        size = (await asyncio.to_thread(source.stat)).st_size  # a missing source fails here
        if await self.exists(key):
            return False  # cheap answer for the common case; the writes below are the guard
        if size > self.part_size:
            return await self._put_parts_once(key, object_key, source, size)
        for _ in range(5):
            try:
                async with _as_io_errors(key):
                    await self._upload(object_key, source, size, only_if_absent=True)
                return True
            except ClientError as exc:
                code = _code(exc)
                if code in _LOST_RACE:
                    return False
                if code not in _IN_FLIGHT:
                    raise
            await asyncio.sleep(0.05)
            if await self.exists(key):
                return False
        raise StorageUnavailable(f"{key}: a concurrent conditional write never finished")

    async def _put_parts_once(self, key: str, object_key: str, source: Path, size: int) -> bool:
        """Write-once for a multipart upload.

        A conditional ``CompleteMultipartUpload`` is not atomic against another one on every
        S3-compatible server (SeaweedFS lets two concurrent completions both succeed), while a
        conditional single ``PutObject`` is. So the writer first claims the key with an empty
        conditional ``PutObject`` beside it; the others wait until the object appears (and then
        answer False, as for any existing key) or until the claim is older than any upload can
        take, when they take it over from the writer that died.
        """
        s3 = await self._s3()
        claim = f"{self.prefix}.claims/{key}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.claim_stale_s + 30.0
        while loop.time() < deadline:
            if await self.exists(key):
                return False
            try:
                async with _as_io_errors(key):
                    await s3.put_object(Bucket=self.bucket, Key=claim, Body=b"", IfNoneMatch="*")
            except ClientError as exc:
                if _code(exc) not in _LOST_RACE | _IN_FLIGHT:
                    raise
                await self._drop_stale_claim(claim)
                await asyncio.sleep(CLAIM_POLL_S)
                continue
            try:
                async with _as_io_errors(key):
                    await self._upload(object_key, source, size, only_if_absent=True)
                return True
            except ClientError as exc:
                if _code(exc) in _LOST_RACE:
                    return False
                raise
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(s3.delete_object(Bucket=self.bucket, Key=claim))
        raise StorageUnavailable(f"{key}: another writer's upload never finished")

    async def _drop_stale_claim(self, claim: str) -> None:
        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self.bucket, Key=claim)
        except ClientError:
            return  # released meanwhile
        age = (datetime.now(UTC) - head["LastModified"]).total_seconds()
        if age > self.claim_stale_s:
            await s3.delete_object(Bucket=self.bucket, Key=claim)

    async def replace_file(self, key: str, source: Path) -> None:
        object_key = self._key(key)
        size = (await asyncio.to_thread(source.stat)).st_size
        async with _as_io_errors(key):
            await self._upload(object_key, source, size, only_if_absent=False)

    async def _upload(self, object_key: str, source: Path, size: int, *, only_if_absent: bool):
        s3 = await self._s3()
        condition = {"IfNoneMatch": "*"} if only_if_absent else {}
        if size <= self.part_size:
            body = await asyncio.to_thread(source.read_bytes)
            await s3.put_object(Bucket=self.bucket, Key=object_key, Body=body, **condition)
            return
        upload = await s3.create_multipart_upload(Bucket=self.bucket, Key=object_key)
        upload_id = upload["UploadId"]
        try:
            parts = []
            fh = await asyncio.to_thread(source.open, "rb")
            with fh:
                number = 1
                while chunk := await asyncio.to_thread(fh.read, self.part_size):
                    sent = await s3.upload_part(
                        Bucket=self.bucket,
                        Key=object_key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                    )
                    parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                    number += 1
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=object_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                **condition,
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    s3.abort_multipart_upload(
                        Bucket=self.bucket, Key=object_key, UploadId=upload_id
                    )
                )
            raise

    async def discard(self, key: str) -> None:
        object_key = self._key(discardable(key))
        s3 = await self._s3()
        async with _as_io_errors(key):
            await s3.delete_object(Bucket=self.bucket, Key=object_key)  # absent: no error

    async def exists(self, key: str) -> bool:
        try:
            await self._head(key)
        except KeyError:
            return False
        return True

    async def size(self, key: str) -> int:
        return int((await self._head(key))["ContentLength"])

    async def _head(self, key: str) -> dict[str, Any]:
        object_key = self._key(key)
        s3 = await self._s3()
        try:
            async with _as_io_errors(key):
                return await s3.head_object(Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise KeyError(key) from None
            raise

    async def read(self, key: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        body = await self._get(key)
        async with body:
            while True:
                async with _as_io_errors(key):
                    chunk = await body.read(chunk_size)
                if not chunk:
                    return
                yield chunk

    async def read_bytes(self, key: str) -> bytes:
        body = await self._get(key)
        async with body, _as_io_errors(key):
            return await body.read()

    async def _get(self, key: str) -> Any:
        object_key = self._key(key)
        s3 = await self._s3()
        try:
            async with _as_io_errors(key):
                response = await s3.get_object(Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise KeyError(key) from None
            raise
        return response["Body"]

    async def keys(self, prefix: str) -> AsyncIterator[str]:
        """Every stored key under ``prefix`` (a ListObjectsV2 walk; write claims live apart, under
        ``.claims/``, so they are never listed as objects)."""
        s3 = await self._s3()
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :]

    async def presigned_url(self, key: str, filename: str | None = None) -> str:
        """A URL that fetches ``key`` directly for ``s3_presign_seconds``, no credentials needed."""
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        s3 = await self._s3()
        return await s3.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.presign_seconds
        )

    async def check(self) -> None:
        """Raise unless the bucket answers (the readiness probe)."""
        s3 = await self._s3()
        await s3.head_bucket(Bucket=self.bucket)


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
