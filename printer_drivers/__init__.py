"""Printer drivers of Lấy Số: ticket rendering, ESC/POS encoding, printer URIs and connections."""
