"""`hive audit`: an aggregate's history read straight from the log (NATS), not through the gateway.

The parser is built with every `hive` command, so the NATS modules are imported only when one runs."""

from __future__ import annotations

import argparse
import sys

from core.settings import Settings

AGGREGATES = ("task", "agent", "workflow", "execution")


async def show_history(settings: Settings, args: argparse.Namespace) -> int:
    """Print the history of `args.aggregate` `args.id`: a timeline, or with --json the events as a JSON array.
    Exit status 1 when the log holds no event of it."""
    if not args.id or any(c in args.id for c in ".*> \t\r\n"):
        print(f"hive audit: {args.id!r} is not an id (one subject token: no dots, wildcards or spaces)",
              file=sys.stderr)
        return 2
    import orjson

    from core.audit.timeline import event_dict, timeline
    from core.store.connect import connect
    from core.store.event_store import EventStore

    nc, js = await connect(settings, "hive-audit", ensure=False)
    try:
        history = await EventStore(nc, js, settings).load(args.aggregate, args.id)
    finally:
        await nc.close()
    if args.json:
        sys.stdout.buffer.write(orjson.dumps([event_dict(rec) for rec in history], option=orjson.OPT_INDENT_2))
        sys.stdout.write("\n")
    else:
        print(timeline(args.aggregate, args.id, history))
    return 0 if history else 1


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    audit = sub.add_parser("audit", help="read the event log: an aggregate's history, or verify the digest chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    for aggregate in AGGREGATES:
        cmd = audit_sub.add_parser(aggregate, help=f"the history of one {aggregate}, oldest first")
        cmd.add_argument("id")
        cmd.add_argument("--json", action="store_true", help="the events as a JSON array (the API's shape)")
        cmd.set_defaults(aggregate=aggregate, audit_run=show_history)
    verify = audit_sub.add_parser("verify", help="check the digest chain of every event: report what was changed, "
                                  "removed or inserted, with its sequence (exit status 1 if anything was)")
    verify.add_argument("--stream", help="the stream to check (default: the events stream, <PREFIX>_EVENTS)")
    verify.add_argument("--subjects", default=">", help="only these subjects (a NATS filter; default: all)")
    verify.add_argument("--allow-unsigned", action="store_true",
                        help="accept events without digests (a log written before digests existed)")
    verify.add_argument("--keyed-from", type=int, default=0, metavar="SEQ",
                        help="with HIVE_AUDIT_KEY: events before this stream sequence may have unkeyed digests "
                        "(written before the writers had the key); from it on, every digest must be keyed")
    verify.add_argument("--json", action="store_true", help="the report as JSON")
    verify.set_defaults(audit_run=_verify)
    return audit


async def _verify(settings: Settings, args: argparse.Namespace) -> int:
    from core.audit.verify_log import run_verify

    return await run_verify(settings, args)
