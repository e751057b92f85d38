"""The SQL the service applies (migrations/, functions/), importable as
`app.sql` so that it ships in the wheel as package data (pyproject.toml
maps this directory; app/migrate.py reads it from here)."""
