"""A minimal websocket client (RFC 6455, standard library only) for ComfyUI's `/ws` event stream.

ComfyUI pushes JSON text messages (status, executing, progress, executed, execution_success,
execution_error, ...) and binary preview images; this reads the text ones, skips binary frames,
answers pings, and raises ConnectionError when the server closes or the socket breaks. It only
ever sends pongs and a close frame (masked, as a client must).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import urllib.parse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class EventStream:
    """`ws://host:port/ws?clientId=...` opened from a ComfyUI http(s) URL; `next()` gives one JSON message."""

    def __init__(self, server: str, client_id: str, timeout: float = 10):
        parts = urllib.parse.urlsplit(server)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        sock = socket.create_connection((parts.hostname, port), timeout=timeout)
        if parts.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        path = f"{parts.path.rstrip('/')}/ws?clientId={urllib.parse.quote(client_id)}"
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection during the websocket handshake")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode(), usedforsecurity=False).digest()).decode()
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        if lines[0].split()[1:2] != ["101"] or headers.get("sec-websocket-accept") != accept:
            raise ConnectionError(f"no websocket at {server}/ws ({lines[0]})")

    def settimeout(self, seconds: float | None) -> None:
        self.sock.settimeout(seconds)

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the websocket")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        mask = self._read(4) if second & 0x80 else None
        payload = self._read(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bool(first & 0x80), first & 0x0F, payload

    def _send(self, opcode: int, payload: bytes = b"") -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode, 0x80 | len(payload)])  # control frames only: < 126 bytes
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def next(self) -> dict:
        """The next JSON text message (binary previews skipped); socket.timeout when none arrives in time."""
        parts, kind = [], None
        while True:
            fin, opcode, payload = self._frame()
            if opcode == 8:
                raise ConnectionError("the server closed the websocket")
            if opcode == 9:
                self._send(10, payload[:125])
                continue
            if opcode == 10:
                continue
            if opcode != 0:
                kind, parts = opcode, []
            parts.append(payload)
            if fin:
                if kind == 1:
                    return json.loads(b"".join(parts))
                parts, kind = [], None

    def close(self) -> None:
        try:
            self._send(8)
        except OSError:
            pass
        self.sock.close()
