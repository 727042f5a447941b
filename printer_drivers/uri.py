"""Parse printer URIs (LAYSO_PRINTER): tcp, usb, serial, file, cups, dir, agent and none.

`agent://` is only a kiosk's printer: the kiosk machine prints through `layso print-agent`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, unquote, urlsplit

from printer_drivers.ticket import QR_MODES, WIDTHS

SCHEMES = ("tcp", "usb", "serial", "file", "cups", "dir", "agent", "none")
AGENT = "agent://"
DEFAULT_TCP_PORT = 9100
DEFAULT_BAUDRATE = 9600
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")
_USB = re.compile(r"^([0-9A-Fa-f]{1,4}):([0-9A-Fa-f]{1,4})$")
_QUEUE = re.compile(r"^[A-Za-z0-9_.@-]+$")


@dataclass(frozen=True)
class PrinterURI:
    """A parsed printer URI; only the fields of its scheme are set."""

    scheme: str
    raw: str
    width: int = 576
    qr: str = "image"
    host: str | None = None
    port: int | None = None
    vendor_id: int | None = None
    product_id: int | None = None
    path: str | None = None
    baudrate: int | None = None
    queue: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def _options(uri: str, query: str, allowed: set[str]) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    out: dict[str, str] = {}
    for key, values in parsed.items():
        if key not in allowed:
            names = ", ".join(sorted(allowed))
            raise ValueError(f"printer URI {uri!r}: unknown option {key!r} (allowed: {names})")
        if len(values) != 1:
            raise ValueError(f"printer URI {uri!r}: option {key!r} given more than once")
        out[key] = values[0]
    if query and not parsed:
        raise ValueError(f"printer URI {uri!r}: cannot read the query {query!r}")
    return out


def parse_printer_uri(uri: str) -> PrinterURI:
    """Parse a printer URI, raising ValueError with a clear message when it is invalid."""
    if not isinstance(uri, str) or not uri.strip():
        raise ValueError("printer URI is empty; use e.g. tcp://192.168.1.50:9100 or none")
    uri = uri.strip()
    if uri == "none":
        return PrinterURI(scheme="none", raw=uri)
    if "://" not in uri:
        raise ValueError(
            f"printer URI {uri!r} has no scheme; expected one of "
            + ", ".join(f"{s}://" for s in SCHEMES[:-1])
            + " or none"
        )
    if uri.lower().startswith("agent:"):
        if uri.lower() != AGENT:
            raise ValueError(f"printer URI {uri!r}: the kiosk's print agent is written agent:// "
                             "(its printer is given to layso print-agent --printer)")
        return PrinterURI(scheme="agent", raw=AGENT)
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or scheme == "none":
        raise ValueError(f"printer URI {uri!r}: unknown scheme {parts.scheme!r}")
    if parts.fragment:
        raise ValueError(f"printer URI {uri!r}: fragments (#...) are not allowed")
    allowed = {"width", "qr"} | ({"baudrate"} if scheme == "serial" else set())
    opts = _options(uri, parts.query, allowed)
    width = 576
    if "width" in opts:
        if not opts["width"].isdigit() or int(opts["width"]) not in WIDTHS:
            raise ValueError(f"printer URI {uri!r}: width must be 576, 512 or 384 dots")
        width = int(opts["width"])
    qr = opts.get("qr", "image")
    if qr not in QR_MODES:
        raise ValueError(f"printer URI {uri!r}: qr must be native or image")
    common = PrinterURI(scheme=scheme, raw=uri, width=width, qr=qr, options=opts)
    # Split netloc by hand: urlsplit's .port raises its own errors and lowercases nothing useful.
    netloc, path = parts.netloc, unquote(parts.path)

    if scheme == "tcp":
        if path not in ("", "/"):
            raise ValueError(f"printer URI {uri!r}: tcp takes no path (tcp://HOST[:PORT])")
        host, port = netloc, DEFAULT_TCP_PORT
        match = re.match(r"^(\[[^\]]+\]|[^:]*)(?::(.*))?$", netloc)
        if match:
            host = match.group(1)
            if match.group(2) is not None:
                if not match.group(2).isdigit() or not 1 <= int(match.group(2)) <= 65535:
                    raise ValueError(f"printer URI {uri!r}: port must be a number 1-65535")
                port = int(match.group(2))
        if not host or not _HOST.match(host) or "@" in netloc:
            raise ValueError(f"printer URI {uri!r}: tcp needs a host name or IP address")
        return replace(common, host=host.strip("[]"), port=port)

    if scheme == "usb":
        match = _USB.match(netloc)
        if not match or path not in ("", "/"):
            raise ValueError(
                f"printer URI {uri!r}: usb needs VID:PID in hex, e.g. usb://04b8:0202"
            )
        vid, pid = int(match.group(1), 16), int(match.group(2), 16)
        if vid == 0 or pid == 0:
            raise ValueError(f"printer URI {uri!r}: USB vendor and product ids cannot be 0")
        return replace(common, vendor_id=vid, product_id=pid)

    if scheme in ("serial", "file", "dir"):
        if netloc:
            example = {"serial": "serial:///dev/ttyUSB0", "file": "file:///dev/usb/lp0",
                       "dir": "dir:///var/lib/layso/tickets"}[scheme]
            raise ValueError(
                f"printer URI {uri!r}: {scheme} needs an absolute path with three slashes, "
                f"e.g. {example}"
            )
        if not path.startswith("/") or path == "/" and scheme != "dir":
            raise ValueError(f"printer URI {uri!r}: {scheme} needs an absolute path")
        if scheme == "serial":
            baud_text = opts.get("baudrate", str(DEFAULT_BAUDRATE))
            if not baud_text.isdigit() or int(baud_text) not in BAUDRATES:
                rates = ", ".join(str(b) for b in BAUDRATES)
                raise ValueError(f"printer URI {uri!r}: baudrate must be one of {rates}")
            return replace(common, path=path, baudrate=int(baud_text))
        return replace(common, path=path)

    # cups://QUEUE
    queue = unquote(netloc)
    if path not in ("", "/") or not _QUEUE.match(queue or ""):
        raise ValueError(
            f"printer URI {uri!r}: cups needs a queue name (letters, digits, _ . @ -), "
            "e.g. cups://Thermal80"
        )
    return replace(common, queue=queue)
