"""Sample tickets shared by the printer driver tests."""

from datetime import datetime, timedelta, timezone

from printer_drivers.ticket import TicketPrint

CENTER = "Trung tâm Phục vụ hành chính công xã Thọ Xuân"
CENTER_EN = "Tho Xuan Commune Public Administration Service Center"
URL = "http://192.168.1.10:5000/t/Zx8kQ2mA7pLr"
ICT = timezone(timedelta(hours=7))


def sample_ticket(**changes: object) -> TicketPrint:
    """Return the demo ticket, with any field changed."""
    fields: dict[str, object] = {
        "center_name": CENTER,
        "label": "A023",
        "service_name": "Lao động – Thương binh và Xã hội",
        "issued_at": datetime(2025, 7, 14, 8, 35, tzinfo=ICT),
        "ahead": 4,
        "eta_minutes": 18,
        "status_url": URL,
    }
    fields.update(changes)
    return TicketPrint(**fields)  # type: ignore[arg-type]
