"""The server's socket: 127.0.0.1 only, a port in use said plainly, a clean stop."""

from __future__ import annotations

import socket

import pytest

from keiko_desktop.openai_api.server import ApiServer, PortInUseError, bind_local


async def _ok(scope: object, receive: object, send: object) -> None:  # pragma: no cover
    raise AssertionError("no request is made")


def test_a_port_in_use_names_another_to_try() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(PortInUseError) as caught:
            bind_local(port)
    finally:
        taken.close()
    message = caught.value.message
    assert message.startswith(f"port {port} is in use; try --port ")
    suggested = int(message.rsplit(" ", 1)[1])
    assert suggested != port
    bind_local(suggested).close()  # it is free


async def test_it_listens_on_loopback_only_and_stops() -> None:
    sock = bind_local(0)
    assert sock.getsockname()[0] == "127.0.0.1"
    server = ApiServer(_ok, sock)
    await server.start()
    assert server.url == f"http://127.0.0.1:{server.port}/v1"
    probe = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    probe.close()
    await server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
