"""Read a database's schema back from PostgreSQL's catalog (not from our models)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg2


@dataclass(frozen=True)
class Column:
    type: str
    nullable: bool
    default: str | None


def tables(url: str) -> set[str]:
    return {
        row[0] for row in _query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }


def columns(url: str, table: str) -> dict[str, Column]:
    rows = _query(
        url,
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
        """,
        (table,),
    )
    return {name: Column(type_, nullable, default) for name, type_, nullable, default in rows}


def unique_column_sets(url: str, table: str) -> set[tuple[str, ...]]:
    """Column lists of every unique index (constraints included), primary key excluded."""
    rows = _query(
        url,
        """
        SELECT array_agg(a.attname ORDER BY k.ordinality)
        FROM pg_index i
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ordinality)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = %s::regclass AND i.indisunique AND NOT i.indisprimary
        GROUP BY i.indexrelid
        """,
        (table,),
    )
    return {tuple(row[0]) for row in rows}


def indexes(url: str, table: str) -> dict[str, tuple[str, ...]]:
    """Non-unique indexes: name -> column list."""
    rows = _query(
        url,
        """
        SELECT c.relname, array_agg(a.attname ORDER BY k.ordinality)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ordinality)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = %s::regclass AND NOT i.indisunique
        GROUP BY c.relname
        """,
        (table,),
    )
    return {name: tuple(cols) for name, cols in rows}


def foreign_keys(url: str, table: str) -> set[tuple[str, str, str]]:
    """(column, referenced table, on-delete action) for each foreign key."""
    rows = _query(
        url,
        """
        SELECT a.attname, c.confrelid::regclass::text, c.confdeltype
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.conrelid = %s::regclass AND c.contype = 'f'
        """,
        (table,),
    )
    actions = {"c": "CASCADE", "a": "NO ACTION", "r": "RESTRICT", "n": "SET NULL", "d": "DEFAULT"}
    return {(column, target, actions[action]) for column, target, action in rows}


def enum_labels(url: str, type_name: str) -> list[str]:
    rows = _query(
        url,
        "SELECT enumlabel FROM pg_enum WHERE enumtypid = %s::regtype ORDER BY enumsortorder",
        (type_name,),
    )
    return [row[0] for row in rows]


def _query(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        connection.close()
