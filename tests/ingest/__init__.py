"""Unit tests of app.ingest (parse, normalize, urls): pure functions, no database."""
