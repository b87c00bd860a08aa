"""nats-servers started from infra/'s own config files: copies with free ports, temp stores and test passwords."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.dev.embedded_nats import EmbeddedNats
from core.dev.ports import free_port

INFRA = Path(__file__).resolve().parents[2] / "infra"
SINGLE = INFRA / "nats-server.conf"
CLUSTER = [INFRA / "nats-cluster" / f"node-{n}.conf" for n in (1, 2, 3)]

_ADDRESS = re.compile(r"127\.0\.0\.1:(\d+)")
_INCLUDE = re.compile(r'^include "([^"]+)"', re.M)
_STORE_DIR = re.compile(r"^(\s*)store_dir: .*$", re.M)
_PASSWORD_VAR = re.compile(r"\$(HIVE_NATS_\w+_PASSWORD)\b")


def password_var(user: str) -> str:
    """The variable nats-auth.conf reads `user`'s password from (gpu-a -> HIVE_NATS_GPU_A_PASSWORD)."""
    return f"HIVE_NATS_{user.upper().replace('-', '_')}_PASSWORD"


class InfraNats:
    """The config files `configs` (one per node) rendered into `home` and started there.

    Every 127.0.0.1:<port> in them gets one free port (the same in every file, so routes still meet), each
    node its own store under `home`, and every password nats-auth.conf asks for a random value defined in
    its copy (nats-server looks a variable up in the file before the environment)."""

    def __init__(self, home: Path, configs: list[Path], *, sync_always: bool = False) -> None:
        self.home = home
        texts = [c.read_text() for c in configs]
        auth = (INFRA / "nats-auth.conf").read_text()
        self.passwords = {var: secrets.token_hex(16) for var in sorted(set(_PASSWORD_VAR.findall(auth)))}
        self.ports: dict[int, int] = {}
        for text in texts:
            for port in _ADDRESS.findall(text):
                self.ports.setdefault(int(port), free_port())
        self.servers: list[EmbeddedNats] = []
        for index, (config, text) in enumerate(zip(configs, texts, strict=True)):
            listen = re.search(r"^listen: 127\.0\.0\.1:(\d+)", text, re.M)
            assert listen, f"{config} has no listen line"
            store = home / f"store-{index + 1}"
            rendered = home / f"node-{index + 1}.conf"
            rendered.write_text(self._render(config, text, store, sync_always))
            self.servers.append(EmbeddedNats(store, port=self.ports[int(listen.group(1))], config_file=rendered))

    def _render(self, config: Path, text: str, store: Path, sync_always: bool) -> str:
        text = _ADDRESS.sub(lambda m: f"127.0.0.1:{self.ports[int(m.group(1))]}", text)
        # nats-server resolves an include relative to the including file (an absolute path too), and an
        # included file sees only its own variables: the copy beside the rendered file gets the passwords.
        header = "".join(f'{var}: "{value}"\n' for var, value in self.passwords.items())
        for match in _INCLUDE.finditer(text):
            included = (config.parent / match.group(1)).resolve()
            (self.home / included.name).write_text(header + included.read_text())
        text = _INCLUDE.sub(lambda m: f'include "{Path(m.group(1)).name}"', text)
        # EmbeddedNats names the store on the command line (-sd), and nats-server refuses it named twice.
        text = _STORE_DIR.sub(lambda m: f"{m.group(1)}# store_dir: {store} (given as -sd)", text)
        if sync_always:
            text, n = re.subn(r'sync_interval: "[^"]*"', "sync_interval: always", text)
            assert n == 1, f"{config}: expected one sync_interval line"
        return text

    def url(self, user: str, node: int = 0) -> str:
        password = self.passwords[password_var(user)]
        return f"nats://{user}:{password}@127.0.0.1:{self.servers[node].port}"

    def start(self) -> None:
        for server in self.servers:
            server.start()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@contextmanager
def infra_nats(configs: list[Path], *, start: bool = True, sync_always: bool = False) -> Iterator[InfraNats]:
    """InfraNats in a temp dir; stops every node and removes the dir afterwards."""
    home = Path(tempfile.mkdtemp(prefix="hive-infra-nats-"))
    nats = InfraNats(home, configs, sync_always=sync_always)
    try:
        if start:
            nats.start()
        yield nats
    finally:
        nats.stop()
        shutil.rmtree(home, ignore_errors=True)
