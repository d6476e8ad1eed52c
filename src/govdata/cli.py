"""The ``govdata`` command: serve the platform, load the demo, and operators' tools."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govdata.settings")
    import django

    django.setup()


def _setup_database() -> None:
    """Django with an up-to-date schema: any command may be the first one on a new data dir."""
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def compile_translations() -> int:
    """Compile every .po file of the package into .mo (pure Python: no gettext tools needed)."""
    import polib

    count = 0
    for po_path in Path(__file__).resolve().parent.rglob("locale/*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
            count += 1
    return count


def prepare() -> None:
    """Everything a fresh data directory needs before serving: translations, schema, assets."""
    compile_translations()
    _setup_database()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def start_worker() -> subprocess.Popen:
    """One job consumer (``govdata worker``) as a child process of this one."""
    return subprocess.Popen([sys.executable, "-m", "govdata.cli", "worker"])


def stop_worker(worker: subprocess.Popen, timeout: float = 10) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def cmd_serve(args: argparse.Namespace) -> int:
    prepare()
    from gunicorn.app.base import BaseApplication

    from govdata.wsgi import application

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-")

        def load(self):
            return application

    from huey.contrib.djhuey import HUEY

    if HUEY.immediate:
        print("GOVDATA_TASKS_IMMEDIATE is on: background jobs run inside the web server.", flush=True)
    # Started after prepare(): the schema is current, so the worker's own migrate is a no-op.
    worker = None if args.no_worker or HUEY.immediate else start_worker()
    server_pid = os.getpid()
    print(f"GovData serving on http://{args.host}:{args.port}/", flush=True)
    try:
        Server().run()
    finally:
        # gunicorn's workers are forks of this process and leave through this block too: only
        # the master stops the job consumer.
        if worker is not None and os.getpid() == server_pid:
            stop_worker(worker)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the huey consumer: background jobs such as large catalog imports."""
    if args.workers is not None and args.workers < 1:
        print("--workers: must be at least 1", file=sys.stderr)
        return 2
    compile_translations()
    _setup_database()
    from django.core.management import call_command
    from huey.contrib.djhuey import HUEY

    if HUEY.immediate:
        print("GOVDATA_TASKS_IMMEDIATE is on: jobs run where they are queued, there is nothing to consume.", file=sys.stderr)
        return 2
    options = {"workers": args.workers} if args.workers else {}
    call_command("run_huey", **options)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    compile_translations()
    _setup_database()
    from django.conf import settings

    from govdata.demo import load_demo

    # The demo's hundreds of notifications stay in the inboxes; mailing them helps no one.
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

    summary = load_demo()
    for name, count in summary.items():
        print(f"{name}: {count}")
    return 0


def cmd_workdays_deadline(args: argparse.Namespace) -> int:
    _setup_django()
    from govdata.workdays.calendar import deadline

    try:
        received = dt.date.fromisoformat(args.received)
    except ValueError:
        print(f"--received: not a date in the form YYYY-MM-DD: {args.received!r}", file=sys.stderr)
        return 2
    if args.days < 1:
        print("--days: must be at least 1", file=sys.stderr)
        return 2
    _setup_database()
    result = deadline(received, args.days)
    print(result.last_day.isoformat())
    if result.uncertain:
        years = ", ".join(str(y) for y in result.uncertain_years)
        print(f"warning: the holiday calendar for {years} is not known yet; weekdays were assumed", file=sys.stderr)
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    _setup_database()
    from govdata.audit.chain import verify_chain

    result = verify_chain()
    if result.ok:
        print(f"audit chain intact: {result.count} events")
        return 0
    print(
        f"audit chain broken at sequence number {result.first_bad_seq} ({result.reason}); "
        f"{result.count} events before it are intact"
    )
    return 1


def cmd_verify_document(args: argparse.Namespace) -> int:
    """Offline: needs the platform's key in the data dir, not the database."""
    _setup_django()
    from govdata.common.digests import CHUNK
    from govdata.sharing.services.receipts import verify

    with open(args.file, "rb") as fh:
        verdict = verify(iter(lambda: fh.read(CHUNK), b""), Path(args.receipt).read_bytes())
    if verdict.valid:
        print(f"valid: receipt {verdict.number} matches {args.file}")
        return 0
    print("NOT valid: " + " ".join(verdict.problems))
    return 1


def cmd_manage(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["govdata manage", *args.rest])
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    print(f"compiled {compile_translations()} catalogues")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govdata", description="GovData government data sharing and open platform")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply migrations and serve the platform (gunicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("GOVDATA_WORKERS", "2")))
    serve.add_argument("--threads", type=int, default=int(os.environ.get("GOVDATA_THREADS", "4")))
    serve.add_argument(
        "--no-worker", action="store_true", help="do not start a job consumer (workers run elsewhere: govdata worker)"
    )
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run the background job consumer (huey)")
    worker.add_argument("--workers", type=int, default=None, help="worker threads (default GOVDATA_TASK_WORKERS or 1)")
    worker.set_defaults(func=cmd_worker)

    commands.add_parser("demo", help="load the Yingkou demo data (idempotent)").set_defaults(func=cmd_demo)

    workdays = commands.add_parser("workdays", help="working-day calendar").add_subparsers(dest="sub", required=True)
    deadline = workdays.add_parser("deadline", help="last day of 'within N working days of receipt'")
    deadline.add_argument("--received", required=True, help="date of receipt, YYYY-MM-DD")
    deadline.add_argument("--days", required=True, type=int, help="number of working days")
    deadline.set_defaults(func=cmd_workdays_deadline)

    audit = commands.add_parser("audit", help="audit trail").add_subparsers(dest="sub", required=True)
    audit.add_parser("verify", help="check the hash chain").set_defaults(func=cmd_audit_verify)

    verify_document = commands.add_parser(
        "verify-document", help="check a file obtained through the platform against its signed receipt"
    )
    verify_document.add_argument("file")
    verify_document.add_argument("receipt", help="the receipt (JSON) issued with the file")
    verify_document.set_defaults(func=cmd_verify_document)

    commands.add_parser("compilemessages", help="compile the translations").set_defaults(func=cmd_compile)

    manage = commands.add_parser("manage", help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
