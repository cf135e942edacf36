"""``imagine run``'s port check agrees with the real server's bind: TIME-WAIT is free, a listener is not (defect 10)."""

from __future__ import annotations

import argparse
import asyncio
import socket
import time

import pytest
from aiohttp import web

from cli import run as imagine_run

pytestmark = pytest.mark.timeout(30)

HOST = "127.0.0.1"


def _leave_time_wait() -> int:
    """A port whose only trace is a TIME-WAIT socket: a server that closed a connection first, then stopped."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp's TCPSite binds
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection((HOST, port), timeout=5)
        served, _ = listener.accept()
        served.close()  # the server side closes first, so the TIME-WAIT is on the server's port
        assert client.recv(1) == b""
        client.close()
    time.sleep(0.1)  # the client's FIN reaches the server's socket, which moves from FIN-WAIT-2 to TIME-WAIT
    return port


def _plain_bind_fails(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


async def _serve_once(port: int) -> None:
    runner = web.AppRunner(web.Application())
    await runner.setup()
    try:
        await web.TCPSite(runner, HOST, port).start()
    finally:
        await runner.cleanup()


def test_a_port_left_in_time_wait_is_free() -> None:
    """After a browser tab's connection, the stopped server's port is reported free, and aiohttp binds it."""
    port = _leave_time_wait()
    assert _plain_bind_fails(port), "no TIME-WAIT socket was left: the test proves nothing"
    assert imagine_run._port_free(HOST, port)
    asyncio.run(_serve_once(port))


def test_a_listening_port_is_in_use() -> None:
    """A port something listens on is still reported in use."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen()
        assert not imagine_run._port_free(HOST, listener.getsockname()[1])


def test_run_refuses_a_port_in_use(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``imagine run`` on a port something listens on exits 2 naming the port, before it starts anything."""
    monkeypatch.setattr(imagine_run, "_environment", dict)  # no .env, no token: the sandbox page is wanted
    parser = argparse.ArgumentParser()
    imagine_run.add_parser(parser.add_subparsers())
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        args = parser.parse_args(["run", "--host", HOST, "--port", str(port)])
        assert imagine_run.run(args) == 2
    assert f"port {port} is in use" in capsys.readouterr().err
