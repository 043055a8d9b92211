"""The schedule: conference, rooms, tracks, sessions and speakers; import, export and browse."""
