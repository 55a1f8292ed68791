"""scripts/comfy_dispatch.py: a server that dies while sending a video is a server that stopped
answering (its request goes to another server), never a traceback that ends the whole queue."""
import socket
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import comfy_dispatch


def server_that_dies_mid_body() -> int:
    """A one-shot HTTP server that promises 13207 bytes, sends 10 and closes (a killed ComfyUI)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 13207\r\nContent-Type: video/mp4\r\n\r\n0123456789")
        connection.close()
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def test_a_download_cut_off_by_a_dying_server_is_a_network_error(tmp_path):
    port = server_that_dies_mid_body()
    with pytest.raises(comfy_dispatch.NETWORK_ERRORS):
        comfy_dispatch.download(f"http://127.0.0.1:{port}", {"filename": "v.mp4", "subfolder": "", "type": "output"},
                                tmp_path)
    assert not (tmp_path / "v.mp4").exists()  # nothing half-written
