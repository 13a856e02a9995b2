"""Serial pseudo-terminal pairs (socat and the pure-Python bridge) and the serial-port adapter."""

from __future__ import annotations

import errno
import gc
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from ycsa_conform.bench.pty import PtyPair
from ycsa_conform.errors import DeviceRefused
from ycsa_conform.transport import parse_device_uri
from ycsa_conform.transport.serial import _refusal, open_port, read_exactly, share_port

TIMEOUT = 0.5  # s; bytes cross a pty pair in microseconds

METHODS = [
    pytest.param(
        "socat",
        marks=pytest.mark.skipif(
            shutil.which("socat") is None, reason="socat not installed (apt install socat)"
        ),
    ),
    "python",
]


@pytest.fixture(params=METHODS)
def pty(request: pytest.FixtureRequest) -> Iterator[PtyPair]:
    with PtyPair.open(prefer=request.param) as pair:
        yield pair


def _open(path: str) -> serial.Serial:
    return serial.serial_for_url(path, exclusive=True, timeout=TIMEOUT)


def _processes_naming(text: str) -> list[int]:
    """Processes whose command line mentions `text` (a pty link path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in command:
            found.append(int(entry.name))
    return found


def test_bytes_cross_both_ways_with_exclusive_pyserial_opens(pty: PtyPair) -> None:
    with _open(pty.device_path) as client, _open(pty.bench_path) as bench:
        client.write(b"\xfe\xfe\x68\x00\x0a\x0d\x11\x13")  # bytes a cooked tty would eat
        assert bench.read(8) == b"\xfe\xfe\x68\x00\x0a\x0d\x11\x13"
        bench.write(b"\x16\x03\x04")
        assert client.read(3) == b"\x16\x03\x04"


def test_a_client_can_close_and_reopen_its_end(pty: PtyPair) -> None:
    with _open(pty.bench_path) as bench:
        for round_ in range(3):
            with _open(pty.device_path) as client:
                client.write(bytes([round_]))
                assert bench.read(1) == bytes([round_])
                bench.write(b"ok")
                assert client.read(2) == b"ok"


def test_a_large_transfer_arrives_whole_and_in_order(pty: PtyPair) -> None:
    payload = bytes(range(256)) * 512  # 128 KiB: more than every buffer on the way
    with _open(pty.device_path) as client, _open(pty.bench_path) as bench:
        writer = threading.Thread(target=client.write, args=(payload,))
        writer.start()
        received = bytearray()
        while len(received) < len(payload):
            chunk = bench.read(len(payload) - len(received))
            assert chunk, f"stalled after {len(received)} bytes"
            received += chunk
        writer.join(timeout=5)
    assert received == payload


def test_a_port_held_by_another_process_names_it(pty: PtyPair) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import serial, sys; port = serial.serial_for_url(sys.argv[1], exclusive=True); "
            "print('open', flush=True); sys.stdin.read()",
            pty.device_path,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"open\n"
        command = Path(f"/proc/{holder.pid}/comm").read_text().strip()  # python3, python3.11 …
        address = parse_device_uri(f"dlt645://{pty.device_path}?address=123456789012")
        with pytest.raises(DeviceRefused) as info:
            open_port(address, timeout=TIMEOUT)
    finally:
        holder.communicate(b"", timeout=5)
    assert str(info.value) == (
        f"cannot open {pty.device_path} for {address}: {pty.device_path} is in use by another "
        f"process (pid {holder.pid} {command}); close it or run without -n (parallel workers "
        "cannot share a serial port)"
    )


def test_a_second_open_in_this_process_is_refused(pty: PtyPair) -> None:
    address = parse_device_uri(f"dlt645://{pty.device_path}?address=123456789012")
    with open_port(address, timeout=TIMEOUT), pytest.raises(DeviceRefused) as info:
        open_port(address, timeout=TIMEOUT)
    assert f"is already open in this process (pid {os.getpid()} " in str(info.value)


def test_devices_on_one_bus_share_the_port(pty: PtyPair) -> None:
    first = parse_device_uri(f"dlt645://{pty.device_path}?address=000000000001")
    second = parse_device_uri(f"dlt645://{pty.device_path}?address=000000000002")
    a, b = share_port(first, timeout=TIMEOUT), share_port(second, timeout=TIMEOUT)
    assert a is b
    assert a.users == 2
    other_baud = parse_device_uri(f"dlt645://{pty.device_path}?address=000000000003&baud=9600")
    with pytest.raises(DeviceRefused, match="another device on this bus has it open at baud=2400"):
        share_port(other_baud, timeout=TIMEOUT)
    a.release()
    assert a.port.is_open
    b.release()
    assert not a.port.is_open
    share_port(other_baud, timeout=TIMEOUT).release()  # the last user closed it: free again


def test_read_exactly_stops_at_the_deadline(pty: PtyPair) -> None:
    import time

    address = parse_device_uri(f"dlt645://{pty.device_path}?address=123456789012")
    with open_port(address, timeout=TIMEOUT) as client, _open(pty.bench_path) as bench:
        bench.write(b"abc")
        start = time.monotonic()
        assert read_exactly(client, 5, start + 0.2) == b"abc"
        assert 0.19 <= time.monotonic() - start < 5  # waited for the rest, then stopped


def test_read_exactly_takes_the_bytes_already_waiting_past_its_deadline(pty: PtyPair) -> None:
    # A district run's reading thread woke after its deadline (a busy machine) with the meter's
    # whole answer in the buffer, and called it "incomplete answer … 5 bytes".
    import time

    address = parse_device_uri(f"dlt645://{pty.device_path}?address=123456789012")
    with open_port(address, timeout=TIMEOUT) as client, _open(pty.bench_path) as bench:
        bench.write(b"abcde")
        until = time.monotonic() + 5
        while client.in_waiting < 5:
            assert time.monotonic() < until, "the pty never carried the bytes"
            time.sleep(0.01)
        assert read_exactly(client, 5, time.monotonic() - 1.0) == b"abcde"
        assert read_exactly(client, 1, time.monotonic() - 1.0) == b""  # and no more than that


def test_socat_is_gone_and_its_links_removed_after_close() -> None:
    if shutil.which("socat") is None:
        pytest.skip("socat not installed (apt install socat)")
    pair = PtyPair.open(prefer="socat")
    link = Path(pair.device_path)
    assert pair.method == "socat"
    assert link.is_symlink()
    assert _processes_naming(str(link))
    pair.close()
    pair.close()  # again: nothing happens
    assert pair.closed
    assert _processes_naming(str(link)) == []
    assert not link.parent.exists()  # the temporary directory it made


def test_a_forgotten_socat_pair_is_stopped_when_collected() -> None:
    if shutil.which("socat") is None:
        pytest.skip("socat not installed (apt install socat)")
    pair = PtyPair.open(prefer="socat")
    link = pair.device_path
    del pair
    gc.collect()
    assert _processes_naming(link) == []


def test_socat_links_go_into_a_given_directory(tmp_path: Path) -> None:
    if shutil.which("socat") is None:
        pytest.skip("socat not installed (apt install socat)")
    (tmp_path / "ttyA").symlink_to("/dev/pts/nonexistent")  # left by a killed run
    with PtyPair.open(tmp_path, prefer="socat") as pair:
        assert pair.device_path == str(tmp_path / "ttyA")
        assert pair.bench_path == str(tmp_path / "ttyB")
        assert Path(pair.device_path).resolve().parent == Path("/dev/pts")
    assert tmp_path.exists()
    assert list(tmp_path.iterdir()) == []


def test_the_python_bridge_stops_its_thread_and_frees_its_ptys() -> None:
    before = {t.name for t in threading.enumerate()}
    pair = PtyPair.open(prefer="python")
    assert pair.method == "python"
    assert pair.device_path.startswith("/dev/pts/")
    assert "pty-bridge" in {t.name for t in threading.enumerate()} - before
    pair.close()
    assert "pty-bridge" not in {t.name for t in threading.enumerate()} - before
    # The pty is gone: its /dev/pts entry disappears with the last open file.
    assert not os.path.exists(pair.device_path)


def test_without_socat_the_python_bridge_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with PtyPair.open() as pair:
        assert pair.method == "python"
    with pytest.raises(FileNotFoundError, match="socat is not on PATH; install it"):
        PtyPair.open(prefer="socat")


def test_a_socat_that_cannot_start_says_why(tmp_path: Path) -> None:
    if shutil.which("socat") is None:
        pytest.skip("socat not installed (apt install socat)")
    missing = tmp_path / "no-such-dir"
    with pytest.raises(OSError, match=r"socat exited with status 1 \(.*No such file") as info:
        PtyPair.open(missing, prefer="socat")
    assert f"check that {missing} is writable, or use PtyPair.open(prefer='python')" in str(
        info.value
    )


def test_prefer_takes_only_the_two_methods() -> None:
    with pytest.raises(ValueError, match="prefer='serial': use 'socat', 'python' or None"):
        PtyPair.open(prefer="serial")  # type: ignore[arg-type]


# -- the serial-port adapter's messages ---------------------------------------------------


def test_a_missing_port_says_to_check_the_adapter(tmp_path: Path) -> None:
    address = parse_device_uri(f"dlt645://{tmp_path}/ttyUSB9?address=123456789012")
    with pytest.raises(DeviceRefused) as info:
        open_port(address, timeout=TIMEOUT)
    assert str(info.value) == (
        f"cannot open {tmp_path}/ttyUSB9 for {address}: {tmp_path}/ttyUSB9 does not exist; "
        "check the adapter is plugged in and the path in the site file"
    )


def test_a_file_that_is_no_terminal_is_not_a_serial_port(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a tty")
    address = parse_device_uri(f"dlt645://{tmp_path}/notes.txt?address=123456789012")
    with pytest.raises(DeviceRefused, match=r"notes.txt is not a serial port \("):
        open_port(address, timeout=TIMEOUT)


def test_permission_denied_names_the_dialout_group(pty: PtyPair) -> None:
    # Tests run as root here, where opening never fails for permissions: feed the adapter the
    # error pyserial raises for a port owned by group dialout.
    address = parse_device_uri(f"dlt645://{pty.device_path}?address=123456789012")
    error = serial.SerialException(errno.EACCES, "could not open port: Permission denied")
    assert "add your user to the dialout group" in _refusal(address, error)
