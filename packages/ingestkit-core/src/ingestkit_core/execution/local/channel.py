"""Length-prefixed frames over a socket: how the process pool and its children talk, and how results travel.

A child gets its end of a ``socketpair`` as an inherited file descriptor, so the
protocol needs nothing from ``multiprocessing`` and never touches stdin or stdout
(a processor that prints cannot corrupt it).
"""

from __future__ import annotations

import json
import socket
import struct

from ingestkit_core.models import ProcessingResult

_HEADER = struct.Struct("!Q")
_COPY_BELOW = 1 << 20


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def pair(cls) -> tuple[Channel, socket.socket]:
        """This side's channel and the socket to hand to the other process."""
        mine, theirs = socket.socketpair()
        return cls(mine), theirs

    @classmethod
    def from_fd(cls, fd: int) -> Channel:
        return cls(socket.socket(fileno=fd))

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, data: bytes) -> None:
        if len(data) < _COPY_BELOW:  # one write: the header and the frame in one segment
            self._sock.sendall(_HEADER.pack(len(data)) + data)
        else:
            self._sock.sendall(_HEADER.pack(len(data)))
            self._sock.sendall(data)

    def recv(self) -> bytes:
        """The next frame; ``EOFError`` when the other side has closed (or died)."""
        (size,) = _HEADER.unpack(self._exactly(_HEADER.size))
        return bytes(self._exactly(size))

    def _exactly(self, size: int) -> bytearray:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = self._sock.recv_into(view[got:])
            if count == 0:
                raise EOFError("channel closed")
            got += count
        return buffer

    def close(self) -> None:
        self._sock.close()


def encode_result(result: ProcessingResult) -> bytes:
    """The result as JSON, losslessly, never fatal to the child.

    Lone surrogates (a file name that is not UTF-8, text from a broken font map) cannot
    be encoded as UTF-8; they travel as ``\\udcXX`` escapes instead, so the parent gets
    the same result an inline run gives (see :func:`decode_result`).
    """
    try:
        return result.model_dump_json().encode()
    except ValueError:
        return json.dumps(result.model_dump(mode="json"), ensure_ascii=True).encode()


def decode_result(data: bytes) -> ProcessingResult:
    """A result from :func:`encode_result`."""
    try:
        return ProcessingResult.model_validate_json(data)
    except ValueError:
        # pydantic's JSON parser refuses lone-surrogate escapes; the standard one keeps them.
        return ProcessingResult.model_validate(json.loads(data))
