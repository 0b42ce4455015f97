"""A small shop database and its dataset, shared by the connector tests."""

from __future__ import annotations

import sqlalchemy as sa

from privacyops.connectors import make_engine

SCHEMA = [
    """CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL,
       name VARCHAR(100), phone VARCHAR(40), created_at TIMESTAMP)""",
    """CREATE TABLE address (id INTEGER PRIMARY KEY,
       customer_id INTEGER NOT NULL REFERENCES customer(id), street VARCHAR(200),
       city VARCHAR(100))""",
    """CREATE TABLE orders (id INTEGER PRIMARY KEY,
       customer_id INTEGER NOT NULL REFERENCES customer(id),
       address_id INTEGER REFERENCES address(id), total NUMERIC(10,2))""",
    """CREATE TABLE order_line (id INTEGER PRIMARY KEY,
       order_id INTEGER NOT NULL REFERENCES orders(id), product VARCHAR(100))""",
    """CREATE TABLE login (id INTEGER PRIMARY KEY,
       customer_id INTEGER NOT NULL REFERENCES customer(id), ip VARCHAR(64))""",
]

DATASET = """\
dataset:
  name: shop
  system: Shop database
  collections:
    - name: customer
      timestamp: created_at
      fields:
        - name: id
          primary_key: true
          identity: customer_id
          categories: [user.unique_id]
        - name: email
          identity: email
          categories: [user.contact.email]
          masking: {strategy: hash, length: 40}
        - name: name
          categories: [user.name]
          masking: nullify
        - name: phone
          identity: phone
          categories: [user.contact.phone_number]
          masking: {strategy: fixed_string, value: REDACTED}
        - name: created_at
          categories: [system.operations]
    - name: address
      fields:
        - {name: id, primary_key: true}
        - {name: customer_id, references: customer.id}
        - {name: street, categories: [user.contact.address.street]}
        - {name: city, categories: [user.contact.address.city], masking: delete_row}
    - name: orders
      fields:
        - {name: id, primary_key: true}
        - {name: customer_id, references: customer.id}
        - {name: address_id, references: address.id, masking: nullify}
        - {name: total, categories: [user.behavior.purchase_history]}
    - name: order_line
      fields:
        - {name: id, primary_key: true}
        - {name: order_id, references: orders.id}
        - {name: product, categories: [user.behavior.purchase_history]}
    - name: login
      fields:
        - {name: id, primary_key: true}
        - {name: customer_id, references: customer.id}
        - {name: ip, categories: [user.device.ip_address], masking: delete_row}
"""

EVIL = "o'brien@example.com'); DROP TABLE customer; --"


def dataset_yaml(url: str) -> str:
    """The shop's dataset file, connected to the shop database at ``url``."""
    return DATASET.replace(
        "  system: Shop database\n",
        f"  system: Shop database\n  connection: {{url: '{url}'}}\n",
    )


def fill(url: str) -> sa.Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        for ddl in SCHEMA:
            conn.execute(sa.text(ddl))
        conn.execute(
            sa.text("INSERT INTO customer VALUES (:id, :e, :n, :p, NULL)"),
            [
                {"id": 1, "e": "ada@example.com", "n": "Ada", "p": "+441234"},
                {"id": 2, "e": "bob@example.com", "n": "Bob", "p": "+449999"},
                {"id": 3, "e": EVIL, "n": "Evil", "p": None},
            ],
        )
        conn.execute(
            sa.text("INSERT INTO address VALUES (:id, :c, :s, :city)"),
            [
                {"id": 10, "c": 1, "s": "1 Analytical St", "city": "London"},
                {"id": 11, "c": 2, "s": "2 Bob Rd", "city": "Leeds"},
            ],
        )
        conn.execute(
            sa.text("INSERT INTO orders VALUES (:id, :c, :a, :t)"),
            [
                {"id": 100, "c": 1, "a": 10, "t": 12.5},
                {"id": 101, "c": 1, "a": 10, "t": 7},
                {"id": 102, "c": 2, "a": 11, "t": 3},
            ],
        )
        conn.execute(
            sa.text("INSERT INTO order_line VALUES (:id, :o, :p)"),
            [{"id": 1000, "o": 100, "p": "engine"}, {"id": 1001, "o": 102, "p": "bike"}],
        )
        conn.execute(
            sa.text("INSERT INTO login VALUES (:id, :c, :ip)"),
            [{"id": i, "c": 1 if i < 3 else 2, "ip": f"10.0.0.{i}"} for i in range(5)],
        )
    return engine
