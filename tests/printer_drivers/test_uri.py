"""Printer URIs of the contract parse; anything else is a clear ValueError."""

import pytest

from printer_drivers.uri import parse_printer_uri


def test_tcp_default_port_and_options() -> None:
    uri = parse_printer_uri("tcp://192.168.1.50")
    assert (uri.scheme, uri.host, uri.port, uri.width, uri.qr) == (
        "tcp", "192.168.1.50", 9100, 576, "image")
    uri = parse_printer_uri("tcp://printer.local:9101?width=512&qr=native")
    assert (uri.host, uri.port, uri.width, uri.qr) == ("printer.local", 9101, 512, "native")


def test_usb_hex_ids() -> None:
    uri = parse_printer_uri("usb://04b8:0202?width=384")
    assert (uri.vendor_id, uri.product_id, uri.width) == (0x04B8, 0x0202, 384)


def test_serial_path_and_baudrate() -> None:
    uri = parse_printer_uri("serial:///dev/ttyUSB0?baudrate=115200")
    assert (uri.path, uri.baudrate) == ("/dev/ttyUSB0", 115200)
    assert parse_printer_uri("serial:///dev/ttyS0").baudrate == 9600


def test_file_cups_dir_none() -> None:
    assert parse_printer_uri("file:///dev/usb/lp0").path == "/dev/usb/lp0"
    assert parse_printer_uri("cups://Thermal80?qr=native").queue == "Thermal80"
    assert parse_printer_uri("dir:///var/lib/layso/tickets").path == "/var/lib/layso/tickets"
    assert parse_printer_uri("none").scheme == "none"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "empty"),
        ("lpt://x", "unknown scheme"),
        ("192.168.1.50", "no scheme"),
        ("tcp://", "host"),
        ("tcp://h:99999", "port"),
        ("tcp://h:abc", "port"),
        ("tcp://h/x", "no path"),
        ("usb://zz:01", "VID:PID"),
        ("usb://04b8", "VID:PID"),
        ("serial://dev/ttyUSB0", "three slashes"),
        ("serial:///dev/ttyUSB0?baudrate=12345", "baudrate"),
        ("file:///", "absolute path"),
        ("dir://relative/path", "three slashes"),
        ("cups://", "queue"),
        ("cups://bad queue", "queue"),
        ("tcp://h?width=640", "width"),
        ("tcp://h?width=abc", "width"),
        ("tcp://h?qr=both", "qr"),
        ("tcp://h?color=red", "unknown option"),
        ("tcp://h?baudrate=9600", "unknown option"),
        ("tcp://h?width=576&width=512", "more than once"),
    ],
)
def test_invalid_uris_raise_clear_errors(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_printer_uri(uri)
