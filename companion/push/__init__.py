"""Web push: devices, preferences, announcements, the outbox and its workers."""
