"""Apache Kafka 4 in KRaft mode on 127.0.0.1:9092"""

from __future__ import annotations

from devstack.component import Component


class Kafka(Component):
    name = "kafka"
    description = "Apache Kafka 4 in KRaft mode on 127.0.0.1:9092"
    default = True
    requires = ()
