"""``zerotrip serve [--role] | worker | migrate | audit verify | user add | bundle export |
bundle verify | dashboard rebuild``: the operator's and the auditor's commands.

A command that touches the service's data runs on a ``cli`` (or ``worker``) build of the same
composition root as the web app (:func:`zerotrip.services.build_services`), so whatever it does
triggers the same reactions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO, TypeVar

from sqlmodel import col, select

from zerotrip.config import ROLES, Settings, SettingsError
from zerotrip.db import Database, migrate, retry_on_conflict, schema_is_current
from zerotrip.logs import configure_logging
from zerotrip.redaction import install_redaction

T = TypeVar("T")


def progress(items: Sequence[T], label: str, out: TextIO = sys.stderr) -> Iterator[T]:
    """Yield ``items`` while drawing a one-line progress bar on a terminal."""
    total = len(items)
    draw = out.isatty() and total > 1
    for n, item in enumerate(items, start=1):
        yield item
        if draw and (n == total or n % max(1, total // 200) == 0):
            filled = int(30 * n / total)
            out.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {n}/{total}")
            out.flush()
    if draw:
        out.write("\n")


async def _bootstrap(settings: Settings) -> str | None:
    """The first admin, made by whichever process of a cluster starts first: the others lose
    the race on the unique username, try again, and find the admin there."""
    from zerotrip.accounts.service import bootstrap_admin
    from zerotrip.problems import Conflict

    db = Database(settings)

    async def attempt() -> str | None:
        try:
            async with db.transaction() as session:
                return await bootstrap_admin(session)
        except Conflict:  # another process made it between our check and our insert
            return None

    try:
        return await retry_on_conflict(attempt)
    finally:
        await db.dispose()


def cmd_serve(settings: Settings, *, migrate_first: bool = True) -> int:
    """Serve in ``settings.role``: ``all`` (one process does everything, the default), ``web``
    or ``live`` (HTTP only; background work is the workers'), or ``worker`` (no HTTP)."""
    from aiohttp import web

    from zerotrip.accounts.first_admin import hand_over
    from zerotrip.api.access_log import RedactingAccessLogger
    from zerotrip.api.app import create_app

    if migrate_first:
        migrate(settings)
    elif not asyncio.run(_schema_is_current(settings)):
        print("the database schema is not up to date: run 'zerotrip migrate' first", flush=True)
        return 3
    if settings.role == "worker":
        return _run_worker_until_signalled(settings)
    password = asyncio.run(_bootstrap(settings))
    url = settings.public_url
    print(f"zerotrip is serving at {url}/ (role {settings.role})", flush=True)
    print(f"  staff console: {url}/staff/login    apply: {url}/apply", flush=True)
    if password:
        hand_over(password, settings.data_dir, sys.stdout)
    else:
        print(
            "  log in with an existing staff account ('zerotrip user add' creates one)", flush=True
        )
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log_class=RedactingAccessLogger,
    )
    return 0


async def _schema_is_current(settings: Settings) -> bool:
    db = Database(settings)
    try:
        return await schema_is_current(db)
    finally:
        await db.dispose()


async def _verify(settings: Settings, case_id: int | None) -> int:
    from zerotrip.cases.audit import verify_case
    from zerotrip.cases.models import Case

    db = Database(settings)
    bad = 0
    try:
        async with db.snapshot() as session:
            if case_id is None:
                ids = list((await session.exec(select(Case.id).order_by(col(Case.id)))).all())
            elif await session.get(Case, case_id) is None:
                print(f"case {case_id}: no such case")
                return 2
            else:
                ids = [case_id]
            for cid in progress(ids, "verifying"):
                report = await verify_case(session, cid)
                if not report.ok:
                    bad += 1
                    where = f"event seq {report.first_bad_seq}"
                    if report.first_bad_id is not None:
                        where += f" (id {report.first_bad_id})"
                    print(f"case {cid}: BROKEN at {where}: {report.reason}")
                elif case_id is not None:
                    print(f"case {cid}: ok, {report.events} events, head {report.head}")
        if case_id is None:
            print(f"{len(ids)} cases checked, {bad} broken")
    finally:
        await db.dispose()
    return 1 if bad else 0


async def _add_user(
    settings: Settings, username: str, name: str, role: str, password_stdin: bool
) -> int:
    """A new account's first password is never on a command line (process lists, shell
    history): it is read from standard input, or made up and handed over once; either way it
    must be changed at the first sign-in, as when an administrator adds an account."""
    import secrets

    from zerotrip.accounts.first_admin import write_password_file
    from zerotrip.accounts.service import create_staff
    from zerotrip.problems import Problem

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    db = Database(settings)
    try:
        async with db.transaction() as session:
            await create_staff(session, username, name, role, password, must_change_password=True)
    except Problem as problem:  # a weak password, a taken username: say so, no traceback
        print(f"not created: {problem.detail}", file=sys.stderr)
        return 2
    finally:
        await db.dispose()
    print(f"created {role} {username}; the first sign-in asks for a new password")
    if password_stdin:
        return 0
    if sys.stdout.isatty():
        print(f"one-time password: {password} (not shown again)")
    else:
        path = (settings.data_dir / f"one-time-password-{username}").resolve()
        write_password_file(path, password)
        print(f"one-time password in {path} (readable by this user only; delete it after use)")
    return 0


async def _export_bundle(settings: Settings, case_id: int, out: str | None, shared: bool) -> int:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from zerotrip.review.bundle import export_bundle
    from zerotrip.services import build_services

    target = Path(out or f"case-{case_id}-bundle.zip")
    async with build_services(settings, role="cli") as services:
        manifest = await export_bundle(
            services.db, services.storage, case_id, target, shared=shared, font=services.font,
            zone=ZoneInfo(settings.timezone),
        )  # fmt: skip
    print(f"wrote {target}: {len(manifest['files'])} files, audit head {manifest['audit_head']}")
    return 0


async def _check_storage(settings: Settings) -> int:
    from zerotrip.evidence.storage_check import check_storage
    from zerotrip.services import close_storage, make_storage

    db = Database(settings)
    storage = make_storage(settings)
    try:
        report = await check_storage(db, storage)
    finally:
        await close_storage(storage)
        await db.dispose()
    print("\n".join(report.lines()))
    return 0 if report.clean else 1


def _verify_bundle(path: str) -> int:
    """Offline: needs only the zip, never the database."""
    from pathlib import Path

    from zerotrip.review.bundle_verify import verify_bundle

    report = verify_bundle(Path(path), progress=progress)
    for member, problem in report.problems:
        print(f"BAD {member}: {problem}")
    mb = report.bytes / 1e6
    if report.ok:
        print(
            f"ok: {report.files} files ({mb:.1f} MB) match the manifest; audit chain of "
            f"{report.audit_events} events intact, head {report.audit_head}"
        )
        return 0
    print(f"{len(report.problems)} problem(s) in {path}")
    return 1


async def _rebuild_dashboard(settings: Settings) -> int:
    from zerotrip.dashboard.facts import rebuild_all
    from zerotrip.services import build_services

    async with build_services(settings, role="cli") as services:
        count = await rebuild_all(
            services.db,
            catalogue=services.catalogue,
            calendar=services.calendar,
            zone=services.clock.zone,
        )
    print(f"dashboard facts and month rollup derived again for {count} finished cases")
    return 0


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The ``worker`` role until ``stop``: the outbox, the reconciler and the local courier."""
    from zerotrip.services import build_services

    async with build_services(settings, role="worker"):
        await stop.wait()


def cmd_worker(settings: Settings) -> int:
    migrate(settings)
    return _run_worker_until_signalled(settings)


def _run_worker_until_signalled(settings: Settings) -> int:
    import signal

    async def until_signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print("zerotrip worker running (outbox, reconciler); stop with Ctrl-C", flush=True)
        await run_worker(settings, stop)

    asyncio.run(until_signalled())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zerotrip", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, then serve the API and pages")
    serve.add_argument(
        "--role",
        choices=ROLES,
        help="which part of the service this process runs (default: ZEROTRIP_ROLE, else all)",
    )
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate (a deployment runs 'zerotrip migrate' once, before the processes)",
    )
    sub.add_parser("worker", help="migrate, then run background work (outbox, reconciler)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    audit = sub.add_parser("audit", help="audit trail tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="recompute hash chains; name the first bad event")
    verify.add_argument("case_id", nargs="?", type=int)
    user = sub.add_parser("user", help="staff accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a staff account")
    add.add_argument("username")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=["clerk", "inspector", "admin"], required=True)
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the first password from standard input (default: make up a one-time one)",
    )
    bundle = sub.add_parser("bundle", help="evidence bundles for auditors")
    bundle_sub = bundle.add_subparsers(dest="bundle_command", required=True)
    export = bundle_sub.add_parser("export", help="write a case's evidence bundle (zip)")
    export.add_argument("case_id", type=int)
    export.add_argument("-o", "--output", help="the zip to write (default case-<id>-bundle.zip)")
    export.add_argument(
        "--shared", action="store_true", help="leave out restricted (identity) evidence"
    )
    check = bundle_sub.add_parser("verify", help="check a bundle offline; name what is wrong")
    check.add_argument("file")
    dashboard = sub.add_parser("dashboard", help="service dashboard tools")
    dash_sub = dashboard.add_subparsers(dest="dashboard_command", required=True)
    dash_sub.add_parser("rebuild", help="derive every finished case's facts again from its chain")
    storage = sub.add_parser("storage", help="evidence storage tools")
    storage_sub = storage.add_subparsers(dest="storage_command", required=True)
    storage_sub.add_parser("check", help="list objects without rows and rows without objects")
    args = parser.parse_args(argv)
    if args.command == "bundle" and args.bundle_command == "verify":
        return _verify_bundle(args.file)

    overrides = {"role": args.role} if args.command == "serve" and args.role else {}
    if args.command == "worker":
        overrides = {"role": "worker"}
    try:
        settings = Settings.from_env(**overrides)
    except SettingsError as exc:
        print(f"zerotrip: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    install_redaction()
    if args.command == "serve":
        return cmd_serve(settings, migrate_first=not args.no_migrate)
    if args.command == "worker":
        return cmd_worker(settings)
    if args.command == "migrate":
        migrate(settings)
        print("schema is up to date")
        return 0
    # Every other command works on the schema as it is: only 'migrate' and 'serve' change it.
    if not asyncio.run(_schema_is_current(settings)):
        print("the database schema is not up to date: run 'zerotrip migrate' first")
        return 3
    if args.command == "audit":
        return asyncio.run(_verify(settings, args.case_id))
    if args.command == "bundle":
        return asyncio.run(_export_bundle(settings, args.case_id, args.output, args.shared))
    if args.command == "user":
        return asyncio.run(
            _add_user(settings, args.username, args.name, args.role, args.password_stdin)
        )
    if args.command == "dashboard":
        return asyncio.run(_rebuild_dashboard(settings))
    if args.command == "storage":
        return asyncio.run(_check_storage(settings))
    return 2


if __name__ == "__main__":
    sys.exit(main())
