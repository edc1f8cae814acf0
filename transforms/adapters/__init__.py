"""One adapter per input format: bytes in, canonical frames and control totals out."""
