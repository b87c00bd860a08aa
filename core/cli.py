"""The `hive` command: each service on its own, the dev stack, tokens."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.runtime import configure_logging, run_service
from core.settings import Settings, load_settings


def _cmd_coordinator(settings: Settings, args: argparse.Namespace) -> int:
    from core.coordinator.service import run_coordinator

    run_service(lambda stop: run_coordinator(settings, stop))
    return 0


def _cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "rebuild":
        import asyncio

        from projections.rebuild import rebuild

        asyncio.run(rebuild(settings))
        return 0
    from projections.service import run_projections

    run_service(lambda stop: run_projections(settings, stop))
    return 0


def _cmd_gateway(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.server import run_gateway

    run_service(lambda stop: run_gateway(settings, stop))
    return 0


def _cmd_sidecar(settings: Settings, args: argparse.Namespace) -> int:
    from agent_sidecar.service import run_sidecar

    run_service(lambda stop: run_sidecar(settings, Path(args.config), stop))
    return 0


def _cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from core.dev.stack import run_dev

    return run_dev(Path(args.home), settings_overrides={})


def _cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from core.dev.stack import dev_secret
    from core.tokens import issue_token

    secret = dev_secret(Path(args.home)) or settings.jwt_secret
    token = issue_token(
        secret, role=args.role, subject=args.subject, now=datetime.now(UTC), ttl=timedelta(hours=args.ttl_hours)
    )
    print(f"# role={args.role} subject={args.subject} expires in {args.ttl_hours}h", file=sys.stderr)
    print(token)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hive", description="Hive: AI work across a fleet of GPU hosts")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="start the whole system on embedded servers")
    dev.add_argument("--home", default=".hive", help="folder for data and endpoints.json (default .hive)")
    dev.set_defaults(func=_cmd_dev)
    sub.add_parser("coordinator", help="run the coordinator").set_defaults(func=_cmd_coordinator)
    proj = sub.add_parser("projections", help="run the read-model projections, or rebuild them")
    proj.add_argument("action", nargs="?", choices=["run", "rebuild"], default="run")
    proj.set_defaults(func=_cmd_projections)
    sub.add_parser("gateway", help="run the HTTP/WebSocket gateway").set_defaults(func=_cmd_gateway)
    side = sub.add_parser("sidecar", help="run the agent sidecar on a GPU host")
    side.add_argument("--config", required=True, help="sidecar config file (TOML)")
    side.set_defaults(func=_cmd_sidecar)
    token = sub.add_parser("token", help="bearer tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    issue = token_sub.add_parser("issue", help="print a token signed with the configured key (last line)")
    issue.add_argument("--role", required=True, choices=["admin", "developer", "viewer", "agent"])
    issue.add_argument("--subject", default="cli-user")
    issue.add_argument("--ttl-hours", type=float, default=24.0)
    issue.add_argument("--home", default=".hive", help="dev stack folder whose key to use, when present")
    issue.set_defaults(func=_cmd_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings)
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    sys.exit(main())
