"""Benchmark: catalog search designs, the in-memory index against Cassandra 5.0 SAI.

(a) productstore_catalog.search.SearchIndex, in process: build time, memory,
    upsert cost, and search latency of a typical query mix (text + filters +
    sorts + facets), first and deep pages, at --memory-products (default 100k)
    and at the Cassandra corpus size.
(b) Cassandra 5.0 storage-attached indexes on devstack's node: first probes
    what CQL can express (analyzers, OR, ORDER BY, GROUP BY, LIKE), then, since
    5.0 has no tokenizing analyzer, the best SAI can do: a set<text> column of
    stems computed by our analyzer, SAI-indexed, with SAI on the filter
    columns; latency of a page, of a count, and of the per-bucket counts facets
    would need.

Same corpus (productstore_catalog.demo, seed 42) for both. A unique keyspace,
dropped at the end. Bounded: about two minutes on a loaded 2-core machine.

Output: JSON on stdout and in bench/results/catalog-search-design.json.
Run: .venv/bin/python bench/catalog_search_design.py [--memory-products N] [--cassandra-products N]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import os
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import DCAwareRoundRobinPolicy
from cassandra.query import UNSET_VALUE

from productstore_catalog.demo import CATEGORIES, DemoProduct, generate_products
from productstore_catalog.search import (
    PRICE_EDGES,
    IndexedProduct,
    SearchIndex,
    SearchQuery,
    SortBy,
)
from productstore_catalog.search.analysis import query_words, stem, words

RESULTS = Path(__file__).parent / "results" / "catalog-search-design.json"
SEED = 42

# The typical query mix: what a shop's search box and category pages send.
QUERIES: dict[str, SearchQuery] = {
    "ru_word": SearchQuery(q="смартфоны"),
    "en_two_words": SearchQuery(q="running shoes"),
    "typo": SearchQuery(q="runnign shoes"),
    "diacritics": SearchQuery(q="cafe creme"),
    "three_words_sorted": SearchQuery(q="чёрный смартфон galaxy", sort_by=SortBy.rating),
    "text_and_filters": SearchQuery(
        q="наушники",
        category="headphones",
        min_price=Decimal(1000),
        max_price=Decimal(20000),
        in_stock=True,
    ),
    "category_page_newest": SearchQuery(category="shoes"),
    "all_by_price": SearchQuery(sort_by=SortBy.price_asc, in_stock=True),
    "all_by_name": SearchQuery(sort_by=SortBy.name),
    "no_match": SearchQuery(q="xyzzy"),
}


def indexed(product: DemoProduct, version: int = 0) -> IndexedProduct:
    return IndexedProduct(
        id=product.id,
        name=product.name,
        description=product.description,
        category=product.category,
        price=product.price,
        currency=product.currency,
        in_stock=product.in_stock,
        rating=product.rating,
        created_at=product.created_at,
        version=version,
    )


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def _timed(action: Callable[[], object], repeat: int) -> list[float]:
    action()  # warm up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def _timed_in_process(action: Callable[[], object], repeat: int) -> dict[str, Any]:
    """Wall-clock and CPU-time percentiles: on a shared machine the wall clock includes
    waiting for a core; this process's CPU time is what the work itself costs."""
    action()  # warm up
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return {**_percentiles(wall), "cpu": _percentiles(cpu), "samples": (wall, cpu)}


def _without_samples(timing: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in timing.items() if key != "samples"}


def measure_memory_index(products: list[DemoProduct], repeat: int) -> dict[str, Any]:
    items = [indexed(p) for p in products]
    index = SearchIndex()
    started = time.perf_counter()
    for item in items:
        index.upsert(item)
    build_seconds = time.perf_counter() - started

    upserts = []
    for item in items[:2000]:
        changed = dataclasses.replace(item, name=item.name + " v2", version=1)
        began = time.perf_counter()
        index.upsert(changed)
        upserts.append(time.perf_counter() - began)

    queries: dict[str, Any] = {}
    everything: list[float] = []
    everything_cpu: list[float] = []
    for label, query in QUERIES.items():
        timing = _timed_in_process(partial(index.search, query), repeat)
        wall, cpu = timing.pop("samples")
        everything += wall
        everything_cpu += cpu
        queries[label] = {"total": index.search(query).total, **timing}

    # deep pages: page 1 and page 50 of a 20-item walk cost the same (keyset, no offset)
    deep: dict[str, Any] = {}
    for label in ("ru_word", "all_by_price", "all_by_name"):
        query, cursor = QUERIES[label], None
        for _ in range(49):
            cursor = index.search(dataclasses.replace(query, cursor=cursor)).next_cursor
        page_50 = dataclasses.replace(query, cursor=cursor)
        deep[label] = {
            "page_1": _without_samples(_timed_in_process(partial(index.search, query), repeat)),
            "page_50": _without_samples(_timed_in_process(partial(index.search, page_50), repeat)),
        }

    return {
        "products": len(products),
        "build_seconds": round(build_seconds, 2),
        "upsert": {
            "p50_us": round(statistics.median(upserts) * 1e6, 1),
            "p99_us": round(sorted(upserts)[int(len(upserts) * 0.99)] * 1e6, 1),
        },
        "memory_mb": round(_memory_mb(items), 1),
        "queries": queries,
        "all_queries": {**_percentiles(everything), "cpu": _percentiles(everything_cpu)},
        "deep_pages": deep,
    }


def _memory_mb(items: list[IndexedProduct]) -> float:
    """What the index itself allocates (the products it is fed are not counted)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = SearchIndex()
        for item in items:
            index.upsert(item)
        return (tracemalloc.get_traced_memory()[0] - before) / 1e6
    finally:
        tracemalloc.stop()


def _connect() -> tuple[Cluster, Session]:
    contact_points = os.environ.get("CASSANDRA_CONTACT_POINTS", "127.0.0.1").split(",")
    profile = ExecutionProfile(
        load_balancing_policy=DCAwareRoundRobinPolicy(
            os.environ.get("CASSANDRA_LOCAL_DC", "datacenter1")
        ),
        request_timeout=60,
    )
    cluster = Cluster(
        contact_points,
        port=int(os.environ.get("CASSANDRA_PORT", "9042")),
        protocol_version=5,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        # devstack's superuser, as `devstack env` exports it.
        auth_provider=PlainTextAuthProvider(
            os.environ["CASSANDRA_USERNAME"], os.environ.get("CASSANDRA_PASSWORD", "")
        )
        if "CASSANDRA_USERNAME" in os.environ
        else None,
    )
    return cluster, cluster.connect()


# What the issue asks of search, tried as CQL: the error text is the answer.
PROBES = {
    "tokenizing_analyzer_index": "CREATE CUSTOM INDEX ON products (name) USING "
    "'StorageAttachedIndex' WITH OPTIONS = {'index_analyzer': '{\"tokenizer\":{\"name\":"
    '"standard"},"filters":[{"name":"lowercase"},{"name":"porterstem"}]}\'}',
    "builtin_analyzer_index": "CREATE CUSTOM INDEX ON products (description) USING "
    "'StorageAttachedIndex' WITH OPTIONS = {'index_analyzer': 'russian'}",
    "sasi_tokenized_stemmed_index": "CREATE CUSTOM INDEX ON products (description) USING "
    "'org.apache.cassandra.index.sasi.SASIIndex' WITH OPTIONS = {'mode': 'CONTAINS', "
    "'analyzer_class': 'org.apache.cassandra.index.sasi.analyzer.StandardAnalyzer', "
    "'tokenization_enable_stemming': 'true', 'tokenization_locale': 'ru'}",
    "match_operator": "SELECT id FROM products WHERE name : 'shoes' LIMIT 1",
    "like_on_sai": "SELECT id FROM products WHERE name_exact LIKE 'run%' LIMIT 1",
    "or_of_terms": "SELECT id FROM products WHERE terms CONTAINS 'run' "
    "OR terms CONTAINS 'shoe' LIMIT 1",
    "order_by_price": "SELECT id FROM products WHERE terms CONTAINS 'run' ORDER BY price LIMIT 1",
    "group_by_category": "SELECT category, count(*) FROM products "
    "WHERE terms CONTAINS 'run' GROUP BY category",
    "whole_value_match_case_and_diacritics_insensitive": "SELECT id FROM products "
    "WHERE name_exact = 'RUNNING SHOE BROOKS A1' LIMIT 1",
    "and_of_terms_with_filters": "SELECT id FROM products WHERE terms CONTAINS 'run' "
    "AND terms CONTAINS 'shoe' AND category = 'shoes' AND price >= 10 AND rating >= 3.5 "
    "AND in_stock = true LIMIT 1",
}

SCHEMA = [
    "CREATE TABLE products (id uuid PRIMARY KEY, name text, name_exact text, description text,"
    " terms set<text>, category text, price decimal, in_stock boolean, rating float,"
    " created_at timestamp)",
    "CREATE CUSTOM INDEX ON products (terms) USING 'StorageAttachedIndex'",
    "CREATE CUSTOM INDEX ON products (name_exact) USING 'StorageAttachedIndex' WITH OPTIONS = "
    "{'case_sensitive': 'false', 'normalize': 'true', 'ascii': 'true'}",
    "CREATE CUSTOM INDEX ON products (category) USING 'StorageAttachedIndex'",
    "CREATE CUSTOM INDEX ON products (price) USING 'StorageAttachedIndex'",
    "CREATE CUSTOM INDEX ON products (in_stock) USING 'StorageAttachedIndex'",
    "CREATE CUSTOM INDEX ON products (rating) USING 'StorageAttachedIndex'",
]


def _cql_filters(query: SearchQuery) -> tuple[list[str], list[Any]]:
    """The WHERE clauses SAI can take for a query: AND of stems plus the filters."""
    clauses: list[str] = []
    params: list[Any] = []
    for word in query_words(query.q) if query.q else []:
        clauses.append("terms CONTAINS %s")
        params.append(stem(word))
    for column, op, value in (
        ("category", "=", query.category),
        ("price", ">=", query.min_price),
        ("price", "<=", query.max_price),
        ("in_stock", "=", query.in_stock),
        ("rating", ">=", query.min_rating),
    ):
        if value is not None:
            clauses.append(f"{column} {op} %s")
            params.append(value)
    return clauses, params


def measure_cassandra(products: list[DemoProduct], repeat: int) -> dict[str, Any]:
    cluster, session = _connect()
    keyspace = f"bench_search_{uuid.uuid4().hex[:12]}"
    session.execute(
        f"CREATE KEYSPACE {keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    try:
        session.set_keyspace(keyspace)
        for statement in SCHEMA:
            session.execute(statement)
        insert = session.prepare(
            "INSERT INTO products (id, name, name_exact, description, terms, category, price,"
            " in_stock, rating, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        rows = [
            (
                p.id,
                p.name,
                p.name,
                p.description,
                {stem(w) for w in words(f"{p.name} {p.description}")},
                p.category,
                p.price,
                p.in_stock,
                UNSET_VALUE if p.rating is None else p.rating,  # a null would be a tombstone
                p.created_at,
            )
            for p in products
        ]
        started = time.perf_counter()
        execute_concurrent_with_args(session, insert, rows, concurrency=64)
        load_seconds = time.perf_counter() - started

        probes: dict[str, Any] = {}
        for name, statement in PROBES.items():
            try:
                session.execute(statement)
                probes[name] = {"supported": True}
            except Exception as error:  # the error is the finding
                probes[name] = {"supported": False, "error": str(error)[:300]}

        queries: dict[str, Any] = {}
        everything: list[float] = []
        for label, query in QUERIES.items():
            clauses, params = _cql_filters(query)
            where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
            # fixed clause templates; every value is a bound parameter
            page = f"SELECT id FROM products{where} LIMIT 20"  # noqa: S608 - constant filters
            count = f"SELECT count(*) FROM products{where}"  # noqa: S608 - constant filters
            page_samples = _timed(partial(session.execute, page, params), repeat)
            everything += page_samples
            queries[label] = {
                "cql": page % tuple(repr(str(v)) for v in params),
                "page_unsorted": _percentiles(page_samples),
                # SAI answers in token order: no relevance, price, rating or name order
                "order": "token order (ORDER BY is not supported with SAI)",
                # counts scan every match; on a loaded node they can time out: that is a finding
                "count": _attempt(partial(_timed, partial(session.execute, count, params), 3)),
                "facets_as_count_queries": _attempt(
                    partial(_timed, partial(_facets, session, count, params), 3)
                ),
                "total": _attempt(partial(_count, session, count, params)),
            }
        return {
            "release_version": session.execute("SELECT release_version FROM system.local").one()[0],
            "products": len(products),
            "load_seconds": round(load_seconds, 2),
            "probes": probes,
            "queries": queries,
            "all_pages": _percentiles(everything),
        }
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        cluster.shutdown()


def _attempt(measure: Callable[[], Any]) -> Any:
    """The measurement, or the error the server answered with."""
    try:
        result = measure()
    except Exception as error:  # a timeout or failure is itself the measurement
        return {"error": str(error)[:300]}
    return _percentiles(result) if isinstance(result, list) else result


def _count(session: Session, statement: str, params: list[Any]) -> int:
    return int(session.execute(statement, params).one()[0])


def _facets(session: Session, count: str, params: list[Any]) -> None:
    """Facet counts the only way CQL can: one count per category, price bucket, stock value
    (a dimension the query already restricts is skipped: CQL allows one relation per bound)."""
    joiner = " AND " if " WHERE " in count else " WHERE "
    extra: list[tuple[str, list[Any]]] = []
    if "category" not in count:
        extra += [("category = %s", [c.slug]) for c in CATEGORIES]
    if "in_stock" not in count:
        extra += [("in_stock = %s", [flag]) for flag in (True, False)]
    if "price" not in count:
        bounds = [None, *PRICE_EDGES, None]
        for low, high in itertools.pairwise(bounds):
            clause = " AND ".join(
                c for c, v in (("price >= %s", low), ("price < %s", high)) if v is not None
            )
            extra.append((clause, [v for v in (low, high) if v is not None]))
    futures = [
        session.execute_async(count + joiner + clause, params + more) for clause, more in extra
    ]
    for future in futures:
        future.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-products", type=int, default=100_000)
    parser.add_argument("--cassandra-products", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = list(generate_products(max(args.memory_products, args.cassandra_products), SEED))
    generate_seconds = time.perf_counter() - started
    same_size = corpus[: args.cassandra_products]
    result = {
        "benchmark": "catalog search design",
        "corpus": {"seed": SEED, "generate_seconds_total": round(generate_seconds, 2)},
        "load_average_at_start": os.getloadavg(),
        "memory_index": measure_memory_index(corpus[: args.memory_products], args.repeat),
        "memory_index_same_size_as_cassandra": measure_memory_index(same_size, args.repeat),
        "cassandra_sai": measure_cassandra(same_size, max(10, args.repeat // 2)),
        "seconds": 0.0,
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
