"""Telemetry of a service: JSON logs, Prometheus metrics, OpenTelemetry traces, request ids."""
