"""sql/schema/schema.sql is exactly what the migrations produce."""
from pathlib import Path

from tests.schema_dump import migrated_dump

SCHEMA = Path(__file__).resolve().parents[2] / "sql" / "schema" / "schema.sql"


def test_migrations_produce_schema_sql(pg):
    produced = migrated_dump(pg.cluster)
    assert produced == SCHEMA.read_text(), (
        "sql/schema/schema.sql is stale: run `make schema` and review the diff")
