"""SQL connector throughput on PostgreSQL: access and erasure requests by e-mail.

customer(100,000), address(100,000), orders(300,000), login(500,000) in a fresh schema of
PRIVACYOPS_BENCH_POSTGRES_URL (``--quick``: a hundredth of that). 50 access requests and 50
erasure requests by e-mail through ``SQLConnector``, end to end (traversal, masking, commit);
then the raw SQL a person would write to read the same rows (the same four indexed queries per
e-mail, psycopg, no ORM), measured in the same run, and the ratio. Floors (issue 5): ≥ 80
access/s and ≥ 40 erasures/s.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import sqlalchemy as sa

from privacyops.connectors import SQLConnector, lint_dataset, load_dataset, make_engine

DATASET = """\
dataset:
  name: bench_shop
  collections:
    - name: customer
      timestamp: created_at
      fields:
        - {name: id, primary_key: true, categories: [user.unique_id]}
        - {name: email, identity: email, categories: [user.contact.email], masking: hash}
        - {name: name, categories: [user.name], masking: nullify}
        - name: phone
          categories: [user.contact.phone_number]
          masking: {strategy: fixed_string, value: REDACTED}
        - {name: created_at, categories: [system.operations]}
    - name: address
      fields:
        - {name: id, primary_key: true}
        - {name: customer_id, references: customer.id}
        - {name: street, categories: [user.contact.address.street], masking: delete_row}
        - {name: city, categories: [user.contact.address.city]}
    - name: orders
      timestamp: created_at
      fields:
        - {name: id, primary_key: true}
        - {name: customer_id, references: customer.id}
        - {name: address_id, references: address.id, masking: nullify}
        - {name: total, categories: [user.behavior.purchase_history]}
        - {name: created_at, categories: [system.operations]}
    - name: login
      fields:
        - {name: id, primary_key: true}
        - {name: customer_id, references: customer.id}
        - {name: ip, categories: [user.device.ip_address], masking: delete_row}
        - {name: at, categories: [system.operations]}
"""

RAW_QUERIES = [
    "SELECT id, email, name, phone, created_at FROM customer WHERE email = %s",
    "SELECT id, customer_id, street, city FROM address WHERE customer_id = ANY(%s)",
    "SELECT id, customer_id, address_id, total, created_at FROM orders WHERE customer_id = ANY(%s)",
    "SELECT id, customer_id, ip, at FROM login WHERE customer_id = ANY(%s)",
]


def _fill(conn: psycopg.Connection, n: int) -> None:
    conn.execute(
        """
        CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL,
            name VARCHAR(100), phone VARCHAR(40), created_at TIMESTAMP NOT NULL);
        CREATE TABLE address (id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customer(id), street VARCHAR(200),
            city VARCHAR(100));
        CREATE TABLE orders (id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customer(id),
            address_id INTEGER REFERENCES address(id), total NUMERIC(10,2),
            created_at TIMESTAMP NOT NULL);
        CREATE TABLE login (id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customer(id), ip VARCHAR(64),
            at TIMESTAMP NOT NULL);
        """
    )
    conn.execute(
        """INSERT INTO customer SELECT g, 'person' || g || '@example.com', 'Name ' || g,
           '+44' || (7000000000 + g), now() - (g || ' minutes')::interval
           FROM generate_series(1, %(n)s) g""",
        {"n": n},
    )
    conn.execute(
        """INSERT INTO address SELECT g, g, g || ' Main Street', 'City ' || (g %% 500)
           FROM generate_series(1, %(n)s) g""",
        {"n": n},
    )
    conn.execute(
        """INSERT INTO orders SELECT g, 1 + (g::bigint * 7919) %% %(n)s,
           1 + (g::bigint * 7919) %% %(n)s, (g %% 1000) / 10.0, now() - (g || ' minutes')::interval
           FROM generate_series(1, %(m)s) g""",
        {"n": n, "m": 3 * n},
    )
    conn.execute(
        """INSERT INTO login SELECT g, 1 + (g::bigint * 104729) %% %(n)s,
           '10.' || (g %% 250) || '.0.1', now() - (g || ' seconds')::interval
           FROM generate_series(1, %(m)s) g""",
        {"n": n, "m": 5 * n},
    )
    conn.execute(
        """CREATE INDEX ON customer (email); CREATE INDEX ON address (customer_id);
           CREATE INDEX ON orders (customer_id); CREATE INDEX ON orders (address_id);
           CREATE INDEX ON login (customer_id);
           ANALYZE customer; ANALYZE address; ANALYZE orders; ANALYZE login;"""
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(quick: bool) -> list[tuple[str, float, str]]:
    base = os.environ.get("PRIVACYOPS_BENCH_POSTGRES_URL")
    if not base:
        raise SystemExit("PRIVACYOPS_BENCH_POSTGRES_URL is not set (make bench sets it)")
    n = 1_000 if quick else 100_000
    requests = 50
    schema = f"bench_conn_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    raw_dsn = sa.make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    out: list[tuple[str, float, str]] = []
    try:
        with psycopg.connect(raw_dsn, options=f"-csearch_path={schema}") as raw:
            t0 = time.perf_counter()
            _fill(raw, n)
            raw.commit()
            out.append(("fill customer/address/orders/login (1:1:3:5)", n, "customers"))
            out.append(("fill time", time.perf_counter() - t0, "s"))

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.yml"
            path.write_text(DATASET)
            parsed = load_dataset(path)
        engine = make_engine(url)
        errors = [p for p in lint_dataset(parsed, engine=engine) if p.severity == "error"]
        if errors:
            raise SystemExit("bench dataset does not lint: " + "; ".join(map(str, errors)))
        connector = SQLConnector(parsed.dataset, engine, salt=b"bench-salt")
        rng = random.Random(5)
        ids = rng.sample(range(1, n + 1), 2 * requests)
        access_emails = [f"person{i}@example.com" for i in ids[:requests]]
        erase_emails = [f"person{i}@example.com" for i in ids[requests:]]
        connector.access({"email": "warm-up@example.com"})  # pool + reflection, not measured

        # --- access through the connector ---------------------------------------------
        per: list[float] = []
        rows_connector = 0
        t0 = time.perf_counter()
        for email in access_emails:
            s = time.perf_counter()
            result = connector.access({"email": email})
            per.append(time.perf_counter() - s)
            rows_connector += result.total
        access_wall = time.perf_counter() - t0

        # --- the same rows by raw SQL -------------------------------------------------
        raw_per: list[float] = []
        rows_raw = 0
        with psycopg.connect(raw_dsn, options=f"-csearch_path={schema}") as raw:
            raw.execute("SELECT 1")
            t0 = time.perf_counter()
            for email in access_emails:
                s = time.perf_counter()
                cust = raw.execute(RAW_QUERIES[0], (email,)).fetchall()
                cids = [r[0] for r in cust]
                rows_raw += len(cust)
                for q in RAW_QUERIES[1:]:
                    rows_raw += len(raw.execute(q, (cids,)).fetchall())
                raw.rollback()
                raw_per.append(time.perf_counter() - s)
            raw_wall = time.perf_counter() - t0
        if rows_raw != rows_connector:
            raise SystemExit(f"connector read {rows_connector} rows, raw SQL {rows_raw}")

        # --- erasure through the connector --------------------------------------------
        eper: list[float] = []
        erased = 0
        t0 = time.perf_counter()
        for email in erase_emails:
            s = time.perf_counter()
            result = connector.erase({"email": email})
            eper.append(time.perf_counter() - s)
            erased += result.total
        erase_wall = time.perf_counter() - t0
        left = connector.access({"email": erase_emails})
        if left.records:
            raise SystemExit("erased people are still found")
        engine.dispose()

        out += [
            ("access requests", requests, "requests"),
            ("access rows read (connector = raw SQL)", rows_connector, "rows"),
            ("access total wall time", access_wall, "s"),
            ("access throughput (floor 80)", requests / access_wall, "req/s"),
            ("access p50", statistics.median(per) * 1000, "ms"),
            ("access p99", _pct(per, 0.99) * 1000, "ms"),
            ("raw SQL same rows: total wall time", raw_wall, "s"),
            ("raw SQL p50", statistics.median(raw_per) * 1000, "ms"),
            ("raw SQL p99", _pct(raw_per, 0.99) * 1000, "ms"),
            ("ratio connector / raw SQL (access wall time)", access_wall / raw_wall, "x"),
            ("erasure requests", requests, "requests"),
            ("erasure records masked or deleted", erased, "records"),
            ("erasure total wall time", erase_wall, "s"),
            ("erasure throughput (floor 40)", requests / erase_wall, "req/s"),
            ("erasure p50", statistics.median(eper) * 1000, "ms"),
            ("erasure p99", _pct(eper, 0.99) * 1000, "ms"),
        ]
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return out
