"""Command executor: argv templating without a shell, output and exit codes, process-group kill."""

from __future__ import annotations

import asyncio
import os
import sys

import psutil
import pytest

from agent_sidecar.config import CommandExecutorConfig
from agent_sidecar.executors.command import CommandExecutor, render_argv
from core.messages import Dispatch
from tests.helpers import wait_until


def job(prompt: str = "hello", **fields: object) -> Dispatch:
    return Dispatch(task_id="t-1", attempt=1, title="a title", prompt=prompt, **fields)  # type: ignore[arg-type]


def executor(argv: list[str], **fields: object) -> CommandExecutor:
    return CommandExecutor(CommandExecutorConfig(argv=argv, **fields))  # type: ignore[arg-type]


def test_render_argv_substitutes_each_item() -> None:
    argv = render_argv(["agent", "--model", "{model}", "--id={task_id}", "{title}: {prompt}"], job(model="m1"))
    assert argv == ["agent", "--model", "m1", "--id=t-1", "a title: hello"]


def test_render_argv_keeps_prompt_as_one_literal_argument() -> None:
    nasty = "x; rm -rf / && echo $(whoami) `id` | cat > /tmp/pwn '\" {model} {{"
    argv = render_argv(["agent", "{prompt}"], job(prompt=nasty, model="m1"))
    # One argument, byte for byte: placeholders inside task data are not expanded again.
    assert argv == ["agent", nasty]


def test_render_argv_escaped_braces_and_missing_model() -> None:
    assert render_argv(["{{literal}}", "{model}"], job()) == ["{literal}", ""]


async def test_cat_echoes_prompt_and_streams_chunks() -> None:
    chunks: list[str] = []

    async def on_chunk(text: str) -> None:
        chunks.append(text)

    result = await executor(["cat"]).run(job("hello world"), on_chunk)
    assert result.ok and result.output == "hello world" and result.exit_code == 0
    assert "".join(chunks) == "hello world"
    assert result.metrics["output_truncated"] == 0.0


async def test_shell_metacharacters_in_prompt_stay_data() -> None:
    prompt = "$(echo pwned); echo pwned `echo pwned`"
    result = await executor([sys.executable, "-c", "import sys; print(sys.argv[1])", "{prompt}"], stdin="none").run(
        job(prompt), None
    )
    assert result.ok and result.output == prompt + "\n"


async def test_nonzero_exit_is_a_failure_with_stderr() -> None:
    result = await executor(["sh", "-c", "echo partial; echo broken >&2; exit 3"], stdin="none").run(job(), None)
    assert not result.ok and not result.retryable
    assert result.exit_code == 3 and result.output == "partial\n"
    assert "code 3" in result.error and "broken" in result.error


async def test_retry_on_exit_codes() -> None:
    result = await executor(["sh", "-c", "exit 75"], stdin="none", retry_on_exit_codes=[75]).run(job(), None)
    assert not result.ok and result.retryable and result.exit_code == 75


async def test_missing_program_is_a_retryable_failure() -> None:
    result = await executor(["/nonexistent/program"]).run(job(), None)
    assert not result.ok and result.retryable and "cannot start" in result.error


async def test_output_is_capped() -> None:
    result = await executor(["sh", "-c", "head -c 5000 /dev/zero"], stdin="none", max_output_bytes=1000).run(
        job(), None
    )
    assert result.ok and len(result.output) == 1000
    assert result.metrics == {"output_bytes": 5000.0, "output_truncated": 1.0}


async def test_background_children_do_not_hold_the_task_open() -> None:
    # Without the group kill, this would return only when the background sleep (holding stdout) ends.
    result = await executor(["sh", "-c", "sleep 600 & echo $$"], stdin="none").run(job(), None)
    assert result.ok
    pgid = int(result.output)
    await wait_until(lambda: not live_members(pgid), what="the leftover child to be killed")


def live_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return members


@pytest.mark.parametrize("ignore_term", [False, True])
async def test_cancel_kills_the_whole_process_group(ignore_term: bool) -> None:
    trap = "trap '' TERM; " if ignore_term else ""
    script = trap + "echo $$; sleep 60 & sleep 60 & wait"
    pids: list[int] = []

    async def on_chunk(text: str) -> None:
        pids.append(int(text.split()[0]))

    run = asyncio.create_task(executor(["sh", "-c", script], stdin="none", kill_grace_s=0.2).run(job(), on_chunk))
    await wait_until(lambda: pids, what="the script to print its pid")
    pgid = pids[0]
    await wait_until(lambda: len(live_members(pgid)) >= 3, what="the shell and both sleeps")
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await wait_until(lambda: not live_members(pgid), what="the process group to be gone")


async def test_timeout_kills_the_group() -> None:
    pids: list[int] = []

    async def on_chunk(text: str) -> None:
        pids.append(int(text.split()[0]))

    command = executor(["sh", "-c", "echo $$; sleep 60 & sleep 60"], stdin="none")
    started = asyncio.Event()

    async def run_with_timeout() -> None:
        async with asyncio.timeout(None) as scope:
            task = asyncio.ensure_future(command.run(job(), on_chunk))
            await wait_until(lambda: pids)
            started.set()
            scope.reschedule(asyncio.get_running_loop().time())
            await task

    with pytest.raises(TimeoutError):
        await run_with_timeout()
    assert started.is_set()
    await wait_until(lambda: not live_members(pids[0]), what="the process group to be gone")
