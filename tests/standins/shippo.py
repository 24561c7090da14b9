"""A stand-in for the Shippo API on loopback, for the real shippo 3.9.0 SDK to talk to.

It implements the endpoints the adapter uses, keeps what was bought, and can be told to fail:
500 / 429 before acting, a connection reset before acting, or — the dangerous ones — act and
then lose the answer (reset, a read timeout, a garbage body, a body the SDK cannot parse).

The purchase fault model goes further (all on the clock it is given, so a test decides when
"later" is): a commit that lands up to ``max_commit_s`` after the request, whose answer is lost
(``late``); a label answered ``ERROR`` or ``QUEUED`` that turns ``SUCCESS`` later; answers
without ``created_by``, without ``status`` or the tracking number, or with fields the SDK does
not know. Every label made queues a ``transaction_created`` webhook in :attr:`callbacks`, and
``before_answer(reference)`` runs before a purchase is answered, so a test can deliver that
order's news first.
With ``check=True`` every response it sends is first read back through the SDK's own parsers
(``shippo.utils.unmarshal_json`` with the SDK's model), so the stand-in cannot drift from
what the SDK accepts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from shippo import utils
from shippo.models import components

from tests.standins.serving import serve

Fault = str  # "500" | "429" | "reset" | "lost" | "timeout" | "garbage" | "unparseable" | ...
ACTING_FAULTS = {"lost", "timeout", "garbage", "unparseable"}
# Purchase-only faults: the label is (or will be) made, the answer misleads.
PURCHASE_FAULTS = [
    "late",
    "error_then_success",
    "queued",
    "no_created_by",
    "no_status",
    "no_tracking",
    "extra",
]
OPS = {
    ("POST", "/addresses"): "CreateAddress",
    ("POST", "/shipments"): "CreateShipment",
    ("POST", "/transactions"): "CreateTransaction",
    ("GET", "/transactions"): "ListTransactions",
    ("POST", "/pickups"): "CreatePickup",
    ("POST", "/refunds"): "CreateRefund",
}
MODELS: dict[str, Any] = {
    "CreateAddress": components.Address,
    "CreateShipment": components.Shipment,
    "CreateTransaction": components.Transaction,
    "GetTransaction": components.Transaction,
    "ListTransactions": components.TransactionPaginatedList,
    "CreatePickup": components.Pickup,
    "CreateRefund": components.Refund,
    "GetTrack": components.Track,
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sdk_parse(operation: str, body: dict[str, Any]) -> Any:
    """What the SDK makes of ``body`` for ``operation`` (raises as the SDK would)."""
    from typing import Optional

    return utils.unmarshal_json(json.dumps(body), Optional[MODELS[operation]])  # noqa: UP045


class ShippoStandIn:
    def __init__(
        self,
        *,
        check: bool = True,
        hang_s: float = 1.0,
        now: Callable[[], datetime] | None = None,
        max_commit_s: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.check = check
        self.hang_s = hang_s
        self.now = now or (lambda: datetime.now(UTC))
        self.max_commit_s = max_commit_s
        self.rng = rng or random.Random(0)
        self.later: list[tuple[datetime, Callable[[], None]]] = []  # commits not landed yet
        self.labels: Counter[str] = Counter()  # reference -> labels that reached SUCCESS
        self.refunded: Counter[str] = Counter()  # reference -> refunds made
        self.callbacks: list[str] = []  # webhook bodies Shippo would send, in order made
        self.before_answer: Callable[[str], Awaitable[None]] | None = None
        self.ids = itertools.count(1)
        self.addresses: dict[str, dict[str, Any]] = {}
        self.shipments: dict[str, dict[str, Any]] = {}
        self.rates: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.pickups: list[dict[str, Any]] = []
        self.purchases: Counter[str] = Counter()  # rate id -> labels bought
        self.purchases_by_reference: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.faults: Callable[[str], Fault | None] = lambda op: None
        self.invalid_streets: set[str] = set()
        self.violations: list[str] = []  # responses the SDK could not read (must stay empty)
        self.runner: web.AppRunner | None = None
        self.url = ""

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.handle)
        self.runner, self.url = await serve(app)
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def random_faults(
        self, rate: float, rng: random.Random, kinds: list[Fault] | None = None
    ) -> None:
        kinds = kinds or ["500", "429", "reset", "lost", "timeout", "garbage", "unparseable"]
        self.faults = lambda op: rng.choice(kinds) if rng.random() < rate else None

    # --- dispatch ----------------------------------------------------------------------------

    def _operation(self, method: str, path: str) -> tuple[str, list[str]]:
        parts = [p for p in path.strip("/").split("/") if p]
        key = (method, "/" + (parts[0] if parts else ""))
        if len(parts) == 1 and key in OPS:
            return OPS[key], []
        if method == "GET" and len(parts) == 2 and parts[0] == "transactions":
            return "GetTransaction", parts[1:]
        if method == "GET" and len(parts) == 3 and parts[0] == "tracks":
            return "GetTrack", parts[1:]
        return "Unknown", parts

    def land_due(self, *, everything: bool = False) -> int:
        """Land the commits whose time has come (or all of them); return how many."""
        now = self.now()
        due = [(at, fn) for at, fn in self.later if everything or at <= now]
        self.later = [(at, fn) for at, fn in self.later if not (everything or at <= now)]
        for _, fn in sorted(due, key=lambda item: item[0]):
            fn()
        return len(due)

    def _in_a_while(self, fn: Callable[[], None]) -> None:
        delay = timedelta(seconds=self.rng.uniform(0, self.max_commit_s))
        self.later.append((self.now() + delay, fn))

    def _made(self, txn: dict[str, Any]) -> None:
        """A label exists now: count it and queue Shippo's webhook about it."""
        txn["status"] = "SUCCESS"
        txn["object_updated"] = _now()
        self.labels[txn["metadata"]] += 1
        self.callbacks.append(
            json.dumps({"event": "transaction_created", "test": True, "data": dict(txn)})
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not request.headers.get("Authorization", "").startswith("ShippoToken "):
            return web.json_response({"detail": "Token does not exist"}, status=401)
        self.land_due()
        op, args = self._operation(request.method, request.path)
        self.calls[op] += 1
        if op == "Unknown":
            return web.json_response({"detail": "Not found."}, status=404)
        fault = self.faults(op)
        if fault == "500":
            return web.json_response({"detail": "Internal error"}, status=500)
        if fault == "429":
            return web.json_response(
                {"detail": "Throttled"}, status=429, headers={"Retry-After": "0"}
            )
        if fault == "reset":
            return self._reset(request)
        body = await request.json() if request.can_read_body else {}
        if op == "CreateTransaction" and fault in PURCHASE_FAULTS:
            return await self._purchase_fault(request, fault, body)
        status, payload = getattr(self, "_" + op)(body, args, request.query)
        if op == "CreateTransaction" and status == 201:
            self._made(payload)
            if self.before_answer is not None:
                await self.before_answer(payload["metadata"])
        if status < 400 and self.check:
            try:
                sdk_parse(op, payload)  # every answer must be one the SDK can read
            except Exception as exc:
                self.violations.append(f"{op}: {exc!r}")
                raise
        if fault in ACTING_FAULTS and request.method == "POST":
            return await self._lose(request, fault, payload)
        if fault in ("timeout",):
            await asyncio.sleep(self.hang_s)
        return web.json_response(payload, status=status)

    async def _purchase_fault(
        self, request: web.Request, fault: Fault, body: dict[str, Any]
    ) -> web.StreamResponse:
        status, txn = self._CreateTransaction(body, [], request.query)
        if status != 201:
            return web.json_response(txn, status=status)
        if fault == "late":  # committed a while after the request; the answer never comes
            self.transactions.pop(txn["object_id"])
            self._in_a_while(lambda: self._land(txn))
            if self.rng.random() < 0.5:
                return self._reset(request)
            await asyncio.sleep(self.hang_s)
            return web.json_response({"detail": "gateway timeout"}, status=504)
        answer = dict(txn)
        if fault in ("error_then_success", "queued"):
            txn["status"] = answer["status"] = (
                "ERROR" if fault == "error_then_success" else "QUEUED"
            )
            if fault == "error_then_success":
                answer["messages"] = txn["messages"] = [
                    {"source": "STANDIN", "code": "carrier_timeout", "text": "Carrier timed out."}
                ]
            self._in_a_while(lambda: self._made(txn))
        else:
            self._made(txn)
        if fault == "no_created_by":
            answer.pop("created_by")
        elif fault == "no_status":
            answer.pop("status")
        elif fault == "no_tracking":
            answer.pop("tracking_number")
        elif fault == "extra":
            answer["carrier_surcharge"] = {"amount": "1.00", "currency": "CNY"}
            answer["status_reason"] = "NEW_FIELD"
        if self.before_answer is not None:
            await self.before_answer(txn["metadata"])
        return web.json_response(answer, status=201)

    def _land(self, txn: dict[str, Any]) -> None:
        self.transactions[txn["object_id"]] = txn
        self._made(txn)

    def _reset(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)

    async def _lose(
        self, request: web.Request, fault: Fault, payload: dict[str, Any]
    ) -> web.StreamResponse:
        """The server acted; the client never learns what happened."""
        if fault == "lost":
            return self._reset(request)
        if fault == "timeout":
            await asyncio.sleep(self.hang_s)
            return web.json_response(payload, status=201)
        if fault == "garbage":
            return web.Response(
                status=201, text="<html>upstream glitch", content_type="application/json"
            )
        broken = {k: v for k, v in payload.items() if k not in ("created_by", "metadata", "status")}
        broken["status"] = "SOMETHING_NEW"  # an enum value 3.9.0 does not know
        return web.json_response(broken, status=201)

    # --- endpoints ---------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):08d}"

    def _CreateAddress(
        self, body: dict[str, Any], args: list[str], query: Any
    ) -> tuple[int, dict[str, Any]]:
        if not body.get("country"):
            return 400, {"country": ["This field is required."]}
        valid = bool(body.get("street1")) and body.get("street1") not in self.invalid_streets
        addr = {
            **{
                k: body.get(k, "")
                for k in ("name", "street1", "city", "state", "zip", "country", "phone", "email")
            },
            "object_id": self._id("adr"),
            "object_created": _now(),
            "object_updated": _now(),
            "object_owner": "office@example.org",
            "is_complete": valid,
            "validation_results": {
                "is_valid": valid,
                "messages": []
                if valid
                else [
                    {
                        "source": "Shippo Address Validator",
                        "code": "Unknown Street",
                        "text": "The street was not found.",
                        "type": "address_error",
                    }
                ],
            },
            "test": True,
        }
        self.addresses[addr["object_id"]] = addr
        return 201, addr

    def _address(self, ref: Any) -> dict[str, Any]:
        if isinstance(ref, str):
            return self.addresses.get(ref, {"country": "CN", "object_id": ref})
        return {"country": ref.get("country", "CN"), **ref}

    def _CreateShipment(
        self, body: dict[str, Any], args: list[str], query: Any
    ) -> tuple[int, dict[str, Any]]:
        sid = self._id("shp")
        rates = []
        for token, amount in (("sf_standard", "18.00"), ("ems_express", "25.00")):
            rid = self._id("rate")
            rate = {
                "object_id": rid,
                "object_created": _now(),
                "object_owner": "office@example.org",
                "shipment": sid,
                "amount": amount,
                "amount_local": amount,
                "currency": "CNY",
                "currency_local": "CNY",
                "attributes": ["CHEAPEST"] if token == "sf_standard" else [],
                "carrier_account": "ca_standin",
                "provider": "STANDIN",
                "servicelevel": {
                    "name": token,
                    "token": token,
                    "terms": "",
                    "extended_token": token,
                },
                "estimated_days": 2,
                "test": True,
            }
            self.rates[rid] = rate
            rates.append(rate)
        shipment = {
            "object_id": sid,
            "object_created": _now(),
            "object_updated": _now(),
            "object_owner": "office@example.org",
            "status": "SUCCESS",
            "metadata": body.get("metadata", ""),
            "address_from": self._address(body.get("address_from")),
            "address_to": self._address(body.get("address_to")),
            "parcels": [],
            "carrier_accounts": [],
            "messages": [],
            "rates": rates,
            "test": True,
        }
        self.shipments[sid] = shipment
        return 201, shipment

    def _CreateTransaction(
        self, body: dict[str, Any], args: list[str], query: Any
    ) -> tuple[int, dict[str, Any]]:
        rate_id = body.get("rate")
        if rate_id not in self.rates:
            return 400, {"rate": ["Rate not found."]}
        self.purchases[rate_id] += 1
        self.purchases_by_reference[body.get("metadata", "")] += 1
        tid = self._id("txn")
        txn = {
            "object_id": tid,
            "object_created": _now(),
            "object_updated": _now(),
            "object_owner": "office@example.org",
            "object_state": "VALID",
            "status": "SUCCESS",
            "created_by": {"first_name": "Permit", "last_name": "Office", "username": "office"},
            "rate": rate_id,
            "metadata": body.get("metadata", ""),
            "tracking_number": f"SI{next(self.ids):010d}CN",
            "tracking_status": "PRE_TRANSIT",
            "tracking_url_provider": "https://tracking.invalid/",
            "label_url": f"https://labels.invalid/{tid}.pdf",
            "label_file_type": body.get("label_file_type") or "PDF_4x6",
            "messages": [],
            "test": True,
        }
        self.transactions[tid] = txn
        return 201, txn

    def _ListTransactions(
        self, body: dict[str, Any], args: list[str], query: Any
    ) -> tuple[int, dict[str, Any]]:
        rate = query.get("rate")
        results = [t for t in self.transactions.values() if not rate or t["rate"] == rate]
        return 200, {"next": None, "previous": None, "results": results}

    def _GetTransaction(
        self, body: dict[str, Any], args: list[str], query: Any
    ) -> tuple[int, dict[str, Any]]:
        txn = self.transactions.get(args[0])
        return (200, txn) if txn else (404, {"detail": "Not found."})

    def _CreatePickup(
        self, body: dict[str, Any], args: list[str], query: Any
    ) -> tuple[int, dict[str, Any]]:
        pickup = {
            **body,
            "object_id": self._id("pk"),
            "object_created": _now(),
            "object_updated": _now(),
            "status": "CONFIRMED",
            "confirmation_code": f"PK{next(self.ids)}",
            "confirmed_start_time": body["requested_start_time"],
            "confirmed_end_time": body["requested_end_time"],
            "is_test": True,
        }
        self.pickups.append(pickup)
        return 201, pickup

    def _CreateRefund(
        self, body: dict[str, Any], args: list[str], query: Any
    ) -> tuple[int, dict[str, Any]]:
        txn = self.transactions.get(body.get("transaction", ""))
        if txn is None:
            return 400, {"transaction": ["Not found."]}
        txn["status"] = "REFUNDED"
        self.refunded[txn["metadata"]] += 1
        refund = {
            "object_id": self._id("rf"),
            "object_created": _now(),
            "object_updated": _now(),
            "object_owner": "office@example.org",
            "status": "SUCCESS",
            "transaction": txn["object_id"],
            "test": True,
        }
        self.refunds.append(refund)
        return 201, refund

    def track(self, number: str) -> dict[str, Any]:
        """A delivered parcel's whole history (labels bought here are delivered at once)."""
        steps = [
            ("PRE_TRANSIT", "information_received", "Label created"),
            ("TRANSIT", "package_accepted", "Picked up by courier"),
            ("TRANSIT", "package_departed", "Departed facility"),
            ("DELIVERED", "delivered", "Delivered"),
        ]
        history = [
            {
                "object_id": f"ts_{number}_{i}",
                "object_created": _now(),
                "object_updated": _now(),
                "status": status,
                "status_details": text,
                "status_date": f"2026-11-2{i}T0{i}:00:00Z",
                "substatus": {"code": code, "text": text, "action_required": False},
                "location": {"city": "Hangzhou", "state": "ZJ", "zip": "310000", "country": "CN"},
            }
            for i, (status, code, text) in enumerate(steps, start=1)
        ]
        txn = next((t for t in self.transactions.values() if t["tracking_number"] == number), None)
        return {
            "carrier": "standin",
            "tracking_number": number,
            "metadata": txn["metadata"] if txn else None,
            "messages": [],
            "tracking_status": history[-1],
            "tracking_history": history,
        }

    def _GetTrack(
        self, body: dict[str, Any], args: list[str], query: Any
    ) -> tuple[int, dict[str, Any]]:
        return 200, self.track(args[1])
