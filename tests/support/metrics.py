"""A service's /metrics read as numbers, and what grew between two reads."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

SampleKey = tuple[str, tuple[tuple[str, str], ...]]


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

    def value(self, name: str, **labels: str) -> float | None:
        """The sample's value; None if the series is not exported."""
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def grew(self, before: Scrape, name: str, **labels: str) -> float:
        """How much the series grew since `before`; it must be exported now."""
        now = self.value(name, **labels)
        assert now is not None, f"{name}{labels} is not exported"
        return now - (before.value(name, **labels) or 0.0)


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return Scrape.of(response.text)
