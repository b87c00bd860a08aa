"""Runs a configured program per task (argv template, no shell) in its own process group."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import signal

from agent_sidecar.config import CommandExecutorConfig, render_template
from agent_sidecar.executors.base import ExecutionResult, OnChunk
from core.messages import Dispatch

log = logging.getLogger(__name__)

_READ_SIZE = 64 * 1024
# Only the end of stderr is kept, for the failure message.
_STDERR_TAIL_BYTES = 4096
# After the program exits and its group is killed, how long its output may still take to drain.
_PIPE_CLOSE_GRACE_S = 5.0


def render_argv(template: list[str], job: Dispatch) -> list[str]:
    """Each argv item substituted on its own from task data; the result is exec'd directly, never by a shell."""
    values = {"prompt": job.prompt, "model": job.model or "", "task_id": job.task_id, "title": job.title}
    return [render_template(item, values) for item in template]


class CommandExecutor:
    name = "command"

    def __init__(self, config: CommandExecutorConfig) -> None:
        self.config = config

    async def run(self, job: Dispatch, on_chunk: OnChunk | None) -> ExecutionResult:
        argv = render_argv(self.config.argv, job)
        env = {**os.environ, **self.config.env} if self.config.env else None
        send_prompt = self.config.stdin == "prompt"
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _ExitAwareProtocol(loop),
                *argv,
                stdin=asyncio.subprocess.PIPE if send_prompt else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.config.cwd,
                env=env,
                # Own process group, so a timeout or cancel can kill everything the program spawned.
                start_new_session=True,
            )
        except OSError as err:
            # A missing or non-executable program is a host misconfiguration: another host may do better.
            return ExecutionResult.failure(f"cannot start {argv[0]!r}: {err}", retryable=True)
        proc = asyncio.subprocess.Process(transport, protocol, loop)
        try:
            return await self._supervise(proc, protocol.exited, job, on_chunk)
        finally:
            if not protocol.exited.done():
                await kill_process_group(proc.pid, protocol.exited, self.config.kill_grace_s)
            transport.close()

    async def _supervise(
        self, proc: asyncio.subprocess.Process, exited: asyncio.Future[None], job: Dispatch, on_chunk: OnChunk | None
    ) -> ExecutionResult:
        assert proc.stdout is not None and proc.stderr is not None
        stdout = _CappedReader(self.config.max_output_bytes, on_chunk)
        stderr = _CappedReader(_STDERR_TAIL_BYTES, None, keep_tail=True)
        readers = asyncio.gather(stdout.consume(proc.stdout), stderr.consume(proc.stderr))
        try:
            if proc.stdin is not None:
                await _feed_stdin(proc.stdin, job.prompt.encode())
            # Not proc.wait(): that also waits for the pipes to close, which a leftover child can delay forever.
            await asyncio.shield(exited)
            # The leader is gone; anything it left running in its group would hold our pipes open.
            # (While members remain the group id cannot be reused; with none left, reuse needs a pid wrap-around.)
            _signal_group(proc.pid, signal.SIGKILL)
            try:
                await asyncio.wait_for(asyncio.shield(readers), timeout=_PIPE_CLOSE_GRACE_S)
            except TimeoutError:
                log.warning("a process that left group %d still holds the output pipes; closing them", proc.pid)
        finally:
            readers.cancel()
        code = proc.returncode
        assert code is not None
        output = stdout.text()
        metrics = {"output_bytes": float(stdout.total), "output_truncated": 1.0 if stdout.truncated else 0.0}
        if code == 0:
            return ExecutionResult.success(output, exit_code=code, metrics=metrics)
        detail = stderr.text().strip()
        error = f"command exited with code {code}" + (f": {detail}" if detail else "")
        return ExecutionResult.failure(
            error, retryable=code in self.config.retry_on_exit_codes, output=output, exit_code=code
        )


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Stream protocol that also says when the process itself exited (pipes may stay open longer)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=_READ_SIZE, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


async def _feed_stdin(stdin: asyncio.StreamWriter, data: bytes) -> None:
    # A program that exits without reading its stdin is not an error of ours.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(data)
        await stdin.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.close()
        await stdin.wait_closed()


class _CappedReader:
    """Reads a pipe to EOF, keeping at most `cap` bytes (the head, or the tail) and streaming text chunks."""

    def __init__(self, cap: int, on_chunk: OnChunk | None, *, keep_tail: bool = False) -> None:
        self.cap = cap
        self.on_chunk = on_chunk
        self.keep_tail = keep_tail
        self.buffer = bytearray()
        self.total = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    async def consume(self, stream: asyncio.StreamReader) -> None:
        while data := await stream.read(_READ_SIZE):
            self.total += len(data)
            if self.keep_tail:
                self.buffer += data
                del self.buffer[: max(0, len(self.buffer) - self.cap)]
            elif len(self.buffer) < self.cap:
                self.buffer += data[: self.cap - len(self.buffer)]
            if self.on_chunk is not None:
                text = self._decoder.decode(data)
                if text:
                    await self.on_chunk(text)

    def text(self) -> str:
        return bytes(self.buffer).decode("utf-8", errors="replace")


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The group id was reused by someone else's process: ours is gone.
        return False
    return True


async def kill_process_group(pgid: int, exited: asyncio.Future[None], grace_s: float) -> None:
    """SIGTERM the whole group, SIGKILL it after `grace_s`; completes even if our own task is being cancelled."""

    async def terminate() -> None:
        if _signal_group(pgid, signal.SIGTERM):
            try:
                await asyncio.wait_for(asyncio.shield(exited), timeout=grace_s)
            except TimeoutError:
                log.warning("process group %d ignored SIGTERM for %.1fs; killing it", pgid, grace_s)
        # Children that outlive the leader (or ignored SIGTERM) go too.
        _signal_group(pgid, signal.SIGKILL)
        await asyncio.shield(exited)

    # Shielded: a cancellation arriving meanwhile must not leave the group running; it is re-raised after.
    task = asyncio.ensure_future(terminate())
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError
