"""Badges: the QR an attendee wears, what scanning it does, check-in, printable badge sheets."""
