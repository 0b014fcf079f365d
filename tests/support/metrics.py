"""A service's /metrics read as numbers, and what grew between two reads."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
SampleKey = tuple[str, Labels]
# prometheus_client's text exposition format (0.0.4); the scrape's content type starts so.
TEXT_FORMAT = "text/plain; version="


def labels(**values: str) -> Labels:
    """Labels as a sample's key holds them (sorted pairs)."""
    return tuple(sorted(values.items()))


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape, by name and sorted labels."""

    samples: dict[SampleKey, float]

    @classmethod
    def of(cls, exposition: str) -> Scrape:
        return cls(
            {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(exposition)
                for sample in family.samples
            }
        )

    def value(self, name: str, **label_values: str) -> float | None:
        """The sample's value; None if the series is not exported."""
        return self.samples.get((name, labels(**label_values)))

    def grew(self, before: Scrape, name: str, **label_values: str) -> float:
        """How much the series grew since `before`; it must be exported now."""
        now = self.value(name, **label_values)
        assert now is not None, f"{name}{label_values} is not exported"
        return now - (before.value(name, **label_values) or 0.0)

    def series(self, name: str) -> dict[Labels, float]:
        """Every sample called `name`, by its sorted labels."""
        return {key: value for (sample, key), value in self.samples.items() if sample == name}


async def scrape(client: httpx.AsyncClient) -> Scrape:
    """The service's /metrics, which must answer in Prometheus's text format."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(TEXT_FORMAT), response.headers
    return Scrape.of(response.text)
