"""Poster voting: posters and categories, one ballot per attendee and category, a voting window,
a live tally for staff, and a results screen for the keynote."""
