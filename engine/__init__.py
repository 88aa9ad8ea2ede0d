"""The engine: calendars, deadline specs, the phrase compiler and the tick."""
