"""Apache Cassandra 5.0, single node on 127.0.0.1:9042"""

from __future__ import annotations

from devstack.component import Component


class Cassandra(Component):
    name = "cassandra"
    description = "Apache Cassandra 5.0, single node on 127.0.0.1:9042"
    default = True
    requires = ()


class CassandraCluster(Component):
    name = "cassandra-cluster"
    description = "Apache Cassandra 5.0, three nodes on 127.0.0.1/.2/.3 (on request)"
    default = False
