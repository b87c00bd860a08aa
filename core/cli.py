"""The `hive` command: each service on its own, the dev stack, tokens."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.audit.commands import add_parser as add_audit_parser
from core.errors import ConfigError
from core.mcp_bridge.command import add_parser as add_mcp_parser
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
    from core.tokens import issue_token, signing_key

    private_key = args.private_key or settings.jwt_private_key_file
    # An explicit --algorithm wins; a private key means RS256; otherwise the configured algorithm.
    algorithm = args.algorithm or ("RS256" if private_key else settings.jwt_algorithm)
    secret = dev_secret(Path(args.home)) if algorithm == "HS256" else None
    key = signing_key(settings, algorithm, private_key_file=private_key, secret=secret)
    token = issue_token(key, role=args.role, subject=args.subject, now=datetime.now(UTC),
                        ttl=timedelta(hours=args.ttl_hours), algorithm=algorithm)
    print(f"# {algorithm} role={args.role} subject={args.subject} expires in {args.ttl_hours}h", file=sys.stderr)
    print(token)
    return 0


def _cmd_keygen(settings: Settings, args: argparse.Namespace) -> int:
    from core.tokens import write_key_pair

    private, public = Path(args.private), Path(args.public)
    write_key_pair(private, public, bits=args.bits, force=args.force)
    print(f"# wrote {private} (keep it where tokens are issued) and {public} (for the gateway)", file=sys.stderr)
    print(f"HIVE_JWT_ALGORITHM=RS256 HIVE_JWT_PUBLIC_KEY_FILE={public.resolve()}  # the gateway")
    print(f"HIVE_JWT_PRIVATE_KEY_FILE={private.resolve()}  # hive token issue")
    return 0


def _cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    return int(asyncio.run(args.audit_run(settings, args)))


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
    issue.add_argument("--home", default=".hive", help="dev stack folder whose key to use, when present (HS256)")
    issue.add_argument("--algorithm", choices=["HS256", "RS256"],
                       help="default: RS256 when a private key is given, else HIVE_JWT_ALGORITHM")
    issue.add_argument("--private-key", help="RSA private key (PEM) to sign with; default HIVE_JWT_PRIVATE_KEY_FILE")
    issue.set_defaults(func=_cmd_token)
    keygen = token_sub.add_parser("keygen", help="write an RSA key pair (PEM) for RS256 tokens")
    keygen.add_argument("--private", default="hive-jwt-private.pem", help="private key file (mode 0600)")
    keygen.add_argument("--public", default="hive-jwt-public.pem", help="public key file, for the gateway")
    keygen.add_argument("--bits", type=int, default=3072)
    keygen.add_argument("--force", action="store_true", help="replace existing files")
    keygen.set_defaults(func=_cmd_keygen)
    add_audit_parser(sub).set_defaults(func=_cmd_audit)
    add_mcp_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings)
    try:
        return int(args.func(settings, args) or 0)
    except ConfigError as err:
        print(f"hive: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
