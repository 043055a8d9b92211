"""The personal agenda: starred sessions, overlaps and walking times, calendar feeds, changes, sharing."""
