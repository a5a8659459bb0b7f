"""The calendar: every dated thing on one calendar, recurring events, resources and bookings, ICS feeds."""
