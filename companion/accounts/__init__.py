"""People and roles: attendees, staff accounts, password-less sign-in, sign-out everywhere."""
