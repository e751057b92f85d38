"""A real Citus cluster for the tests: a coordinator and two workers, each its
own PostgreSQL cluster on tmpfs listening on its own loopback port."""
from __future__ import annotations

import psycopg

from app.embedded_pg import Cluster
from app.migrate import libpq_url
from harness import free_port, scratch_dir

DBNAME = "datastorage"


class CitusCluster:
    def __init__(self, workers: int = 2):
        self.nodes: list[Cluster] = []
        try:
            for _ in range(1 + workers):
                node = Cluster(scratch_dir("ds-citus-"), durable=False, port=free_port())
                node.init()
                with open(node.pgdata / "postgresql.auto.conf", "a") as f:
                    # Nodes talk over loopback TCP; initdb -A trust covers it.
                    f.write("listen_addresses = '127.0.0.1'\n"
                            "shared_preload_libraries = 'citus'\n"
                            "max_prepared_transactions = 100\n"
                            "max_worker_processes = 32\n"
                            "citus.shard_count = 8\n"
                            # Where a function ran (pg_stat_user_functions): the
                            # routing tests read it.
                            "track_functions = 'pl'\n"
                            # A test kills a node's PostgreSQL: what it
                            # acknowledged must be in the WAL the OS holds
                            # (fsync stays off: the machine does not crash).
                            "synchronous_commit = on\n")
                node.start()
                self.nodes.append(node)
            self.create_database(DBNAME)
        except BaseException:
            self.close()
            raise

    def create_database(self, name: str) -> str:
        """A database with citus on every node, the workers registered (Citus
        keeps its metadata per database); returns its coordinator URL."""
        for node in self.nodes:
            with psycopg.connect(libpq_url(node.url()), autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')
            with psycopg.connect(libpq_url(node.url(name)), autocommit=True) as c:
                c.execute("CREATE EXTENSION citus")
        with psycopg.connect(self.url(dbname=name), autocommit=True) as c:
            c.execute("SELECT citus_set_coordinator_host('127.0.0.1', %s)",
                      (self.coordinator.port,))
            for w in self.workers:
                c.execute("SELECT citus_add_node('127.0.0.1', %s)", (w.port,))
        return self.url(dbname=name)

    def drop_database(self, name: str) -> None:
        for node in self.nodes:
            with psycopg.connect(libpq_url(node.url()), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @property
    def coordinator(self) -> Cluster:
        return self.nodes[0]

    @property
    def workers(self) -> list[Cluster]:
        return self.nodes[1:]

    def url(self, node: Cluster | None = None, dbname: str = DBNAME) -> str:
        node = node or self.coordinator
        return f"postgresql://postgres@127.0.0.1:{node.port}/{dbname}"

    def connect(self, node: Cluster | None = None, dbname: str = DBNAME) -> psycopg.Connection:
        return psycopg.connect(self.url(node, dbname), autocommit=True)

    def close(self) -> None:
        for node in self.nodes:
            node.destroy()
