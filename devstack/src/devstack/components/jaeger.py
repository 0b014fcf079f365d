"""Jaeger v2: OTLP on 127.0.0.1:4317/4318, UI/API on 127.0.0.1:16686"""

from __future__ import annotations

from devstack.component import Component


class Jaeger(Component):
    name = "jaeger"
    description = "Jaeger v2: OTLP on 127.0.0.1:4317/4318, UI/API on 127.0.0.1:16686"
    default = True
    requires = ()
